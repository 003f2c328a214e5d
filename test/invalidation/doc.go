// Package invalidation is the one-region black-box suite: the real
// `cachesync sidecar` binary between a real PostgreSQL primary and a real
// memcached (both from test/cluster).
//
// It shows that, for a configured table, an insert, an update (also one that
// changes the column a key is built from), a delete and a one-million-row
// update each invalidate exactly their rows' keys and no others; that a
// sidecar killed with SIGKILL mid-backlog never has the slot confirm past an
// undelivered invalidation and, once restarted, invalidates every key
// (at-least-once); that memcached being unreachable for a while loses
// nothing; and that bad configs and a missing replica identity stop the
// binary with an error naming the key or the table and the fix.
//
// The package holds only tests; this file exists for the documentation.
package invalidation
