// Package audit checks a region's memcached against the database it is
// filled from, once (Check) or all the time (Monitor), and measures how
// long a region keeps serving an old value.
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
//   - Monitor (the sidecar's, one per source, after Meta's Polaris) checks a
//     Sample fraction of the keys the invalidator renders, After their
//     transaction was delivered (the Acker's end LSN passed its commit), in
//     the database the region reads. A stale or missing key is consistent
//     (the next reader refills it). A live value that differs from the
//     row's value template (or, without a template, a live key whose row is
//     gone) is read again, database first, once ConfirmAfter has passed and
//     the invalidator has delivered every change the first database read
//     could see (its replay or insert position); it counts only when the row
//     is unchanged and the cache still contradicts it. So a row written in
//     between, or an invalidation still on its way (lag), is never counted
//     as an inconsistency; a confirmation waits while delivery is held.
//     Keys that no longer belong to their row are skipped, never guessed.
//   - The monitor never slows invalidation: Sampled and Offer do not block
//     (a full queue drops the sample and counts it), it holds at most
//     QueueSize samples, and its reads (one cache read and at most one
//     query per check or confirmation) are capped at MaxPerSecond.
//   - Staleness summarises observed windows (p50, p99, max) without keeping
//     more than a bounded number of samples.
package audit
