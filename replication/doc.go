// Package replication consumes a PostgreSQL logical replication slot
// (pgoutput, protocol v1) and hands committed changes to a Handler.
//
// What it guarantees:
//
//   - Changes are handed over one at a time, in commit order, framed by Begin
//     and Commit; a transaction is never held in memory, whatever its size.
//   - The flush position confirmed to PostgreSQL (the slot's
//     confirmed_flush_lsn) never passes the end of a transaction the handler
//     has not acknowledged with Stream.Ack. When nothing is in flight, the
//     server's keepalive position is confirmed too, so an idle database does
//     not make the slot retain WAL.
//   - Delivery is at-least-once: after any reconnect the server replays every
//     transaction that was not confirmed, including ones already handed over
//     (a handler may see a Begin without the Commit of the transaction before
//     it: that transaction was cut by the reconnect and comes again).
//   - A slot that had to be created (first start, dropped slot, or a slot
//     PostgreSQL invalidated with wal_status 'lost') is announced through
//     Config.OnNewSlot before anything is consumed from it, because the
//     changes made before its creation are unknown. A flush marker (a
//     physical slot reserving no WAL, named <slot>_flushing) is created
//     before the slot and dropped only after OnNewSlot returned, so a
//     failed OnNewSlot, or a process killed before it returned, makes the
//     next attempt (or the next process) announce the slot again.
//   - Positions belong to one server history (IDENTIFY_SYSTEM's system
//     identifier and timeline). A session on another history (a promoted
//     replica, a restored backup) is a failover: it is logged naming both
//     histories, the old history's transactions are drained, every
//     position is forgotten and the slot is announced as new. An existing
//     slot that claims positions beyond the server's WAL, or that is older
//     than the server's timeline, came from another history: it is dropped,
//     recreated and announced.
//   - The flush position sent never passes the connected server's WAL end
//     (its IDENTIFY_SYSTEM position and every position it has sent since);
//     a position beyond it is clamped and logged as an error.
//   - Status updates are sent from their own goroutine, so a handler that
//     blocks for back-pressure cannot make the walsender time out.
//   - A Handler that cannot handle a change and must not skip it returns a
//     HoldError: the stream stops before that transaction, retries with
//     backoff (Config.HoldMin to HoldMax), logs once when it starts holding
//     and once when it gets past, and reports the hold in StreamStatus.Held.
//   - A second consumer of the same slot waits as a standby and takes over
//     as soon as the slot is released.
//   - The publication publishes partitioned tables via their root
//     (publish_via_partition_root), so a change to any partition arrives
//     under the configured parent's name. Whenever SyncPublication has to
//     change the publication (tables that left it, partitions published
//     under their own names) it writes a FlushPrefix message in the same
//     transaction: changes before it were never streamed as configured.
//   - Table names follow PostgreSQL's rules (ParseTable): unquoted parts
//     fold to lower case, quoted parts are exact.
//
// The package also offers the slot Monitor (retained WAL, lag), the
// Heartbeater (transactional logical messages that keep an idle slot moving
// and measure end-to-end lag), and SQLConn, a reconnecting connection for
// pollers.
package replication
