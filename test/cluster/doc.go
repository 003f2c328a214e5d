// Package cluster starts real PostgreSQL, memcached and other processes
// for tests, on loopback only, and tears them down when the test ends. The
// servers themselves are cmd/local's (shared with cachesync demo); this
// package adds what a test needs around them.
//
// The libraries' own tests import it, so it must not import cmd/config (which
// imports the libraries for their defaults) and writes no cachesync config:
// running cachesync with a config is test/fleet's, which marshals
// cmd/config's structs.
//
// Guarantees:
//   - Every server or process started through this package is stopped and its
//     files removed at t.Cleanup, even when the test fails; servers also get
//     SIGKILL if the test process itself dies (parent-death signal).
//   - A Start* function returns only once the server answers on its port
//     (PostgreSQL accepts a connection, a replica reports pg_is_in_recovery,
//     memcached answers "version").
//     Readiness is polled, never slept for.
//   - PostgreSQL runs from /usr/lib/postgresql/15/bin as the postgres user when
//     the test runs as root (PostgreSQL refuses root), as the current user
//     otherwise; wal_level=logical, trust auth on 127.0.0.1 and the data
//     directory's socket, replication allowed.
//   - Kill simulates a crash: after it returns no process of the server is
//     left, so Start can restart on the same port with the same data.
//   - When a test fails, the tail of each server's log and each process's
//     output is written with t.Log.
//
// Helpers that take a TB fail on error with t.Fatalf, so they must be called
// from the test's goroutine.
package cluster
