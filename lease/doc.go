// Package lease is the Go client apps use to read through the cachesync
// proxy with mcrouter-style leases (lease-get / lease-set).
//
// Guarantees:
//   - GetOrFill calls fill only when the proxy granted this caller the lease
//     for the key, so after a miss or an invalidation one caller per key
//     refills however many ask (promise 4); the others get the stale value
//     (ServeStale, the default) or wait for the fill until their context
//     ends.
//   - The fill is stored with the lease token: if the key was invalidated
//     after the token was issued, the proxy refuses the store, so a fill can
//     never overwrite a newer invalidation (promise 2).
//   - A fill that fails gives its lease back (lease-release), so the next
//     reader refills at once instead of after the proxy's lease_ttl.
//   - GetOrFillKey renders keys with lease/keys.Render, the function
//     the invalidator uses, so readers and invalidations agree on keys.
//   - Connections are pooled; a connection that saw any error is dropped.
package lease
