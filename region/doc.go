// Package region is how cachesync nodes find each other and show the fleet.
//
// Every node (sidecar or proxy, in any region) joins one memberlist cluster
// and gossips a compact NodeStatus. Guarantees:
//
//   - Any node answers for the whole fleet: Fleet, /api/status and the
//     dashboard show every member the gossip has reached, with its region,
//     role and last gossiped status.
//   - A member that stops answering probes is shown "dead"; one that stopped
//     through Run's context is shown "left": Run broadcasts a leave intent
//     before it shuts down, Close does not (it is what a crash looks like).
//   - Statuses travel both as broadcasts (small ones over UDP, large ones
//     over TCP) and in memberlist's push/pull exchange, so a node that joins
//     late learns every status without waiting for the next broadcast.
//   - A region with no alive, active sidecar is reported "behind": nothing
//     invalidates its memcached.
//   - With a gossip key, a node without the same key cannot join.
//   - New starts nothing; Listen binds; Run returns only after every
//     goroutine it started has exited.
//
// The HTTP server serves the dashboard (embedded, no external resources,
// strict Content-Security-Policy), /api/status, /api/fleet, /metrics,
// /healthz, /readyz and /debug/pprof/.
package region
