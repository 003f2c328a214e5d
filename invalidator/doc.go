// Package invalidator turns committed row changes (replication.Handler calls)
// into memcached invalidations and tells replication which LSN is safe to
// confirm.
//
// Guarantees:
//   - No lost invalidation: a transaction's end LSN is passed to the Acker only
//     after every key of that transaction, and of every earlier transaction,
//     has been acknowledged by the memcached server that owns it. A batch that
//     fails is retried with backoff, never dropped and never acked.
//   - UPDATE invalidates the keys of the old and of the new row, so a renamed
//     username invalidates both names.
//   - No refill from a lagging replica: with a Gate, a batch is delivered only
//     after the gate has passed for the newest transaction whose keys it holds
//     (ReplicaGate: the region's replica has replayed the commit;
//     PrimaryVisibility: the commit is visible to new snapshots on the
//     primary).
//   - Bounded memory: about MaxQueued keys (plus one batch) wait for
//     delivery; Change blocks when the queue is full, which is back-pressure
//     on replication. A transaction of any size streams through in batches.
//   - Bad rows never crash: a key over 250 bytes, or a column a row does not
//     carry, is logged (rate-limited) and counted, and the rest proceeds.
//   - Start-up refuses tables, columns and replica identities that could not
//     name every key (CheckCatalog), with the exact ALTER TABLE to run, for a
//     partitioned table on the table and on every leaf partition; a Relation
//     message that later shows such a change is refused the same way.
//   - While running (Watch), a configured table that left the publication
//     (dropped and re-created) is added again and every region flushes its
//     memcached at that point of the stream, in order with the
//     invalidations around it (a replication.FlushPrefix message); attached
//     partitions have their replica identity checked, and problems are
//     logged once and listed (SchemaProblems).
//   - A key column whose type changes in the stream is warned about once
//     per change (the key text may change with it) and counted.
package invalidator
