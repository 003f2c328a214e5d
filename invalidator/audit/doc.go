// Package audit checks a region's memcached against the database it is
// filled from, and measures how long a region keeps serving an old value.
//
// Guarantees:
//   - Check compares every key that a configured table's rows render to (with
//     lease/keys.Render, routed with lease/ring exactly as the sidecar
//     routes it) with the value the app would cache for that row. A cached
//     value that differs and is not marked stale is counted as inconsistent;
//     stale, missing and pending-fill keys are counted, never failed.
//   - Check never steals a lease from a real filler: memcached hands the
//     lease of a stale item to any meta get, so Check hands back any lease it
//     wins (md I C<cas>), as the proxy does for a classic get.
//   - Memory is bounded by one batch of keys: rows are streamed.
//   - The report is only meaningful for a quiescent database (every region
//     has confirmed the last LSN); on a live one a key changed between the
//     row read and the cache read can show as inconsistent.
//   - Staleness summarises observed windows (p50, p99, max) without keeping
//     more than a bounded number of samples.
package audit
