// Package proxy is the lease-aware memcache proxy: it speaks memcached's
// classic ASCII and meta protocols plus mcrouter's lease-get / lease-set to
// clients, and routes every key to one server of a stock memcached pool
// (lease/ring), over pipelined connections (lease/backend).
//
// Guarantees:
//   - A classic get/gets/gat/gats never returns a stale item (invalidated
//     with md I) nor an empty lease placeholder: both are misses, and every
//     other classic command answers on them what memcached answers for an
//     absent key (add stores over them).
//   - Transparent leases (Config.ClassicLeases): a classic get that misses
//     holds the key's lease, remembered (bounded, for LeaseTTL) for every
//     connection of this proxy; the key's next set or add through it
//     stores only while no invalidation, delete or write has come since
//     (NOT_STORED otherwise). Readers of a key being filled wait up to
//     HotMissWait for the fill. Without ClassicLeases a lease a classic get
//     takes by accident is handed back (md I C<cas>) so the real filler
//     still wins it.
//   - lease-get hands out at most one real token per invalidation or miss;
//     a token encodes the item's CAS and the issuing server, so a lease-set
//     after a newer invalidation, delete or write is NOT_STORED (promise 2).
//   - Replies come back in request order, even when a multi-key get spans
//     servers or the client pipelines; the connection closes only where
//     memcached would close it (quit, an over-long line without a newline,
//     an HTTP request line), and at once on the binary protocol, which is
//     not served (counted, logged once per client address).
//   - The accept loop survives running out of descriptors (EMFILE, ENFILE):
//     it backs off from 5 ms to 1 s and retries, logging once per state
//     change.
//   - Bounded resources: MaxConns connections, IdleTimeout, one request in
//     flight per client connection, bounded line and value sizes.
//   - A pool server out of rotation (lease/route: unreachable from here, or
//     not reported up to date by the region's sidecar, SetReports) has its
//     keys served by the gutter (Config.Gutter), where every write's
//     exptime is capped at GutterTTL. Without a gutter, a down server
//     answers "SERVER_ERROR backend unavailable" at once.
package proxy
