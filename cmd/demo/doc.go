// Package demo is `cachesync demo`: a two-region system on this machine. A
// PostgreSQL primary (east reads it) and its streaming replica (west reads
// it), a memcached per region, and per region a sidecar and a proxy run
// from config files the demo writes, with a workload writing on the
// primary and reading through both proxies with leases.
//
// Guarantees:
//   - Everything lives in one temporary directory (servers' data, config
//     files, logs) and listens on 127.0.0.1 only. When Run returns, every
//     server, role and workload goroutine it started has stopped and the
//     directory is removed, whether ctx ended, a start failed or a role
//     failed.
//   - The roles run what their config files say: each file is written by
//     marshalling cmd/config's schema and read back with config.Load, as
//     `cachesync sidecar --config` would.
//   - Every node joins one fleet (east's sidecar is the seed), so the
//     dashboard shows both regions' sidecars and proxies.
//   - The summary's stale count is what the consistency checker of
//     `cachesync check` finds after every region has confirmed every write
//     made before the check: 0 on a working system.
package demo
