// Package local starts local servers for the demo and the test harness:
// PostgreSQL (a primary, and streaming replicas made with pg_basebackup),
// memcached, and child processes such as cachesync itself. It returns plain
// errors and never imports testing, so the shipped binary (cachesync demo)
// can use it; test/cluster wraps it for the suites.
//
// Guarantees:
//   - Everything listens on 127.0.0.1 only, on a port this process picked
//     free and has not handed out before; a server whose port was taken in
//     between is retried on another one.
//   - A Start function returns only once the server answers (PostgreSQL
//     accepts a connection, a replica reports pg_is_in_recovery, memcached
//     answers "version"); a process's WaitReady polls the probe it is given.
//     Readiness is polled, never slept for, and a server that exits while
//     starting fails at once with the tail of its log.
//   - A Start function that fails leaves nothing behind. Close stops the
//     server or process (every process of its group) and removes the files
//     it made; it is safe to call twice. Every server and process also gets
//     SIGKILL when the process that started it dies (parent-death signal).
//   - PostgreSQL runs from /usr/lib/postgresql/15/bin as the postgres user
//     when this process is root (PostgreSQL refuses root), as the current
//     user otherwise; wal_level=logical, trust auth on 127.0.0.1 and the data
//     directory's socket, replication allowed. Its files go in a directory
//     that user owns, made inside the directory the caller names, which that
//     user must be able to reach. memcached runs with -u nobody when root.
//   - Kill simulates a crash: after it returns no process of the server is
//     left, so Start restarts it on the same port with the same data.
package local
