// Package invalidator turns committed row changes (replication.Handler calls)
// into memcached invalidations and tells replication which LSN is safe to
// confirm.
//
// Delivery is a pipeline: while batches are in delivery, the next ones are
// collected and gated; a gate answers for a position (every batch its
// answer covers is released at once, and it is asked again only about the
// rest); each server has its own queue and InFlight connections, so several
// batches are in flight per server and a down or slow server holds only its
// own keys.
//
// Guarantees:
//   - No lost invalidation: a transaction's end LSN is passed to the Acker only
//     after every key of that transaction, and of every earlier transaction,
//     has been acknowledged by every memcached server it goes to (its owner
//     and, with a gutter pool, its gutter server, as lease/route picks them),
//     or covered by a flush_all sent after its gate passed. Acks come in
//     commit order, one call at a time, however deliveries complete. A
//     delivery that fails is retried with backoff, never skipped.
//   - Independent servers: a server that fails holds only its own keys; the
//     others get theirs as usual. A server seen down that holds more than
//     ServerBacklog keys has them dropped and owes a flush_all, which it gets
//     (when reachable) before anything past those keys is acked. A server
//     that comes back gets its held keys, or the flush, before Stats reports
//     it route.StateUp (meanwhile StateCatchingUp or StateOwesFlush).
//   - UPDATE invalidates the keys of the old and of the new row, so a renamed
//     username invalidates both names.
//   - No refill from a lagging replica: with a Gate, a batch is delivered only
//     after the gate has passed it, and every batch before it, for the newest
//     transaction whose keys it holds
//     (ReplicaGate: the region's replica has replayed the commit;
//     PrimaryVisibility: the commit is visible to new snapshots on the
//     primary).
//   - Bounded memory: at most MaxQueued keys wait in the queue (plus the
//     batch being collected), MaxQueued more in batches waiting for their
//     gate, ServerBacklog per server (plus InFlight batches in delivery), and
//     MaxBatches batches between sealing and ack. Past them the collector
//     waits and Change blocks, which is back-pressure on replication (a down
//     server's keys are dropped and owed instead, so it does not hold the
//     others, until it has been down for MaxBatches batches). A transaction
//     of any size streams through in batches.
//   - Bad rows never crash: a key over 250 bytes, or a column a row does not
//     carry, is logged (rate-limited) and counted, and the rest proceeds.
//   - Start-up refuses tables, columns and replica identities that could not
//     name every key (CheckCatalog), with the exact ALTER TABLE to run, for a
//     partitioned table on the table and on every leaf partition; a Relation
//     message that later shows such a change is held (replication.HoldError
//     naming the table, the columns and the fix), never skipped.
//   - While running (Watch), a configured table that left the publication
//     (dropped and re-created) is added again and every region flushes its
//     memcached at that point of the stream, in order with the
//     invalidations around it (a replication.FlushPrefix message); attached
//     partitions have their replica identity checked, and problems are
//     logged once and listed (SchemaProblems).
//   - A key column whose type changes in the stream is warned about once
//     per change (the key text may change with it) and counted.
package invalidator
