// Package route decides which memcached server a key goes to: its owner on
// the pool's ring (lease/ring), or, while the owner is not fit to serve
// from, a server of the gutter pool (Facebook's "Scaling Memcache", 3.3).
// The proxy routes every request with it and the invalidator finds with it
// the servers that may hold a copy of a key, so both agree by construction.
//
// Guarantees:
//   - Owner is the ring's Pick over Config.Servers: identical to lease/ring
//     (and so to twemproxy's ketama or gomemcache's crc32) for every key.
//   - A key's gutter server is the same ring kind's Pick over Config.Gutter,
//     so every process with the same config picks the same gutter server,
//     whatever states it has seen.
//   - A pool server is served from only while it is ready: this process
//     reaches it (SetReachable) and the region's sidecar, when one reports
//     it (SetReport), says it is up to date (StateUp). A server this process
//     saw come back stays out until a report received after its return says
//     StateUp: a report from before the return cannot vouch for the
//     invalidations it missed. Without reports (no sidecar), this
//     process's own view decides.
//   - Without a gutter, Route always answers the owner (a down owner then
//     fails its requests, as before the gutter existed).
//   - Route never allocates and is safe for concurrent use with the
//     setters; a setter's effect is visible to every later Route.
//   - Indexes number the pool's servers first, then the gutter's: index
//     len(Config.Servers)+j is Config.Gutter[j], as Addrs lists them.
package route
