// Package sources tests a sidecar of several sources as shipped: the
// cachesync binary tailing two real PostgreSQL primaries (one with a
// streaming replica) into one memcached, its status and metrics per
// source, and a standby sidecar taking over every source.
package sources
