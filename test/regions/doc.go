// Package regions holds the multi-region suites: a primary (east) and a
// streaming replica (west) with their own memcached pools, sidecars and
// proxies, run as real `cachesync` processes. They prove promise 3 (no
// refill from a lagging replica) by showing stale values appear without the
// region gate and never with it, sidecar failover within a region, and the
// dashboard on the running fleet.
package regions
