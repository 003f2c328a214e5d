// Package node assembles a cachesync node's roles from its config file: a
// Sidecar (one Source per primary: stream, invalidator, gates, slot
// monitor, heartbeats) or a Proxy, joined to the fleet (package region)
// and served over HTTP. It owns the wiring only; each library keeps its
// own promises.
//
// Guarantees:
//
//   - New starts nothing; Listen binds the role's and the fleet's sockets;
//     Run returns only after every goroutine it started has returned, and
//     a failing part stops the others; Close is safe twice.
//   - Each source of a sidecar has its own slot, publication, gate,
//     positions and health: one source being down, behind or standing by
//     holds only its own invalidations. A named source's metrics carry a
//     source label under the usual metric names (a single unnamed source
//     keeps its series as they were), and its log lines the source field.
//   - A sidecar is ready only when every source streams, reaches memcached
//     and (with a replica) sees its replica; /readyz names the first source
//     that is not.
package node
