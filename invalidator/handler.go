package invalidator

import (
	"context"
	"errors"
	"slices"

	"github.com/cachesync/cachesync/lease/keys"
	"github.com/cachesync/cachesync/replication"
	"go.uber.org/zap"
)

// ErrClosed is returned by Handler calls after Close.
var ErrClosed = errors.New("invalidator closed")

var _ replication.Handler = (*Invalidator)(nil)

// Relation binds a configured table's rule to the relation's columns and
// refuses a relation whose columns or replica identity can no longer name
// every key.
func (inv *Invalidator) Relation(ctx context.Context, rel *replication.Relation) error {
	t, ok := inv.tables[rel.Table()]
	if !ok {
		delete(inv.rels, rel.ID)
		return nil
	}
	if err := checkRelation(rel, t); err != nil {
		// The stream holds here (never skips) and logs the hold once.
		return holdRelation(rel, t, err)
	}
	inv.checkKeyTypes(rel, t)
	inv.rels[rel.ID] = newRelRules(rel, t)
	return nil
}

// holdRelation is the refusal of a relation whose columns or replica
// identity can no longer name every key: a hold, with the columns and the
// fix that lets the stream resume by itself.
func holdRelation(rel *replication.Relation, t *compiledTable, err error) error {
	exists := map[string]bool{}
	carried := map[string]bool{}
	for _, c := range rel.Columns {
		exists[c.Name] = true
		carried[c.Name] = rel.ReplicaIdentity == 'f' || c.Key && rel.ReplicaIdentity != 'n'
	}
	he := &replication.HoldError{Table: t.name.String(), Reason: err.Error()}
	if he.Columns = columnsNotIn(t, func(c string) bool { return exists[c] }); len(he.Columns) > 0 {
		he.Fix = "make tables." + t.name.String() + ".keys use the table's columns (or rename the column back), then restart the sidecar"
	} else {
		he.Columns = columnsNotIn(t, func(c string) bool { return carried[c] })
		he.Fix = "ALTER TABLE " + t.name.String() + " REPLICA IDENTITY FULL; (changes already written under the weaker identity stay held: they need way out (b))"
	}
	return he
}

// Begin opens a transaction. A Begin without the previous transaction's
// Commit means replication cut that transaction; it comes again, so the keys
// already queued are merely delivered twice.
func (inv *Invalidator) Begin(ctx context.Context, b replication.Begin) error {
	inv.cur = &txn{final: b.FinalLSN, xid: b.Xid, commitTime: b.CommitTime}
	return nil
}

// Change queues the keys of a changed row; it blocks while the queue is full.
func (inv *Invalidator) Change(ctx context.Context, c *replication.Change) error {
	if c.Op == replication.Truncate {
		return inv.truncate(ctx, c)
	}
	r := inv.rules(c.Rel)
	if r == nil {
		return nil
	}
	inv.keyBuf = inv.keyBuf[:0]
	old, new := changeTuples(c)
	for _, tpl := range r.table.templates {
		if old != nil {
			inv.addKey(r, c, tpl, old)
		}
		if new != nil {
			inv.addKey(r, c, tpl, new)
		}
		if c.Op == replication.Delete && old == nil {
			inv.keyError(r, c, tpl.String(), errNotCarried)
		}
	}
	for _, k := range inv.keyBuf {
		if err := inv.enqueue(ctx, event{kind: evKey, key: k, tx: inv.cur}, false); err != nil {
			return err
		}
	}
	return nil
}

// rules returns the rule bound to rel, or nil when rel is not configured.
func (inv *Invalidator) rules(rel *replication.Relation) *relRules {
	if rel == nil {
		return nil
	}
	if r, ok := inv.rels[rel.ID]; ok && r.rel == rel {
		return r
	}
	// A change may reference a Relation this handler was not shown (a
	// consumer that replays its cached relations after a reconnect).
	t, ok := inv.tables[rel.Table()]
	if !ok {
		return nil
	}
	if err := checkRelation(rel, t); err != nil {
		inv.log.Error("relation cannot name every key", zap.Error(err))
	}
	r := newRelRules(rel, t)
	inv.rels[rel.ID] = r
	return r
}

func (inv *Invalidator) addKey(r *relRules, c *replication.Change, tpl *keys.Template, t *tuple) {
	key, err := r.render(tpl, t)
	switch {
	case errors.Is(err, errNull):
		inv.log.Debug("NULL key column: no key", zap.Stringer("table", r.table.name), zap.String("template", tpl.String()))
	case err != nil:
		inv.keyError(r, c, tpl.String(), err)
	case !slices.Contains(inv.keyBuf, key):
		inv.keyBuf = append(inv.keyBuf, key)
		inv.sample(r, t, key)
	}
}

func (inv *Invalidator) keyError(r *relRules, c *replication.Change, tpl string, err error) {
	inv.keyErrors.Add(1)
	inv.keyErrLog.log(func(suppressed int) {
		inv.log.Error("cannot render a key of a changed row; that key is not invalidated",
			zap.Stringer("table", r.table.name), zap.String("op", c.Op.String()),
			zap.String("template", tpl), zap.Error(err), zap.Int("suppressed_since_last", suppressed))
	})
}

func (inv *Invalidator) truncate(ctx context.Context, c *replication.Change) error {
	flush := false
	for _, rel := range c.Truncated {
		t, ok := inv.tables[rel.Table()]
		if !ok {
			continue
		}
		inv.truncates.Add(1)
		if t.truncate == TruncateFlush {
			flush = true
			inv.log.Warn("TRUNCATE of a configured table: flushing every memcached server", zap.Stringer("table", t.name))
			continue
		}
		inv.log.Error("TRUNCATE of a configured table: its keys cannot be named and are NOT invalidated; "+
			"flush memcached or set truncate: flush for this table", zap.Stringer("table", t.name))
	}
	if !flush {
		return nil
	}
	return inv.enqueue(ctx, event{kind: evFlush, tx: inv.cur}, true)
}

// Message reports heartbeats once everything before them is delivered, and
// flushes the pool where the stream says so (replication.FlushPrefix).
func (inv *Invalidator) Message(ctx context.Context, m replication.Message) error {
	if m.Prefix == replication.FlushPrefix {
		return inv.flushMessage(ctx, m)
	}
	if m.Prefix != replication.HeartbeatPrefix {
		return nil
	}
	hb, ok := parseHeartbeat(m.Content)
	if !ok {
		inv.log.Warn("malformed heartbeat message", zap.ByteString("content", m.Content))
		return nil
	}
	tx := inv.cur
	if !m.Transactional || tx == nil {
		// Not part of a transaction: gate on the message's own position.
		tx = &txn{final: m.LSN}
	}
	return inv.enqueue(ctx, event{kind: evHeartbeat, tx: tx, hb: &hb}, !m.Transactional)
}

// Commit closes the transaction; its end LSN is acked once delivered.
func (inv *Invalidator) Commit(ctx context.Context, c replication.Commit) error {
	tx := inv.cur
	if tx == nil {
		tx = &txn{final: c.CommitLSN, commitTime: c.CommitTime}
	}
	inv.cur = nil
	return inv.enqueue(ctx, event{kind: evCommit, tx: tx, end: c.EndLSN}, true)
}

// enqueue adds ev to the handler's current chunk and hands the chunk to the
// delivery loop when it is full or when now is set (a transaction's end, a
// flush, a heartbeat: whatever someone waits for). Chunks make the queue cost
// one channel operation per queueChunk events instead of one per key.
func (inv *Invalidator) enqueue(ctx context.Context, ev event, now bool) error {
	if inv.chunk == nil {
		inv.chunk = getChunk()
	}
	inv.chunk = append(inv.chunk, ev)
	if len(inv.chunk) < queueChunk && !now {
		return nil
	}
	chunk := inv.chunk
	inv.chunk = nil
	inv.queued.Add(int64(len(chunk)))
	select {
	case inv.queue <- chunk:
		return nil
	default:
	}
	// Full: wait, which is the back-pressure that keeps memory bounded.
	select {
	case inv.queue <- chunk:
		return nil
	case <-ctx.Done():
		inv.queued.Add(-int64(len(chunk)))
		putChunk(chunk) // never sent: nothing else has it
		return ctx.Err()
	case <-inv.closed:
		inv.queued.Add(-int64(len(chunk)))
		putChunk(chunk)
		return ErrClosed
	}
}

// flushMessage queues a flush_all of every server at the message's place in
// the stream: after every change before it, gated like them, and before
// anything after it is acked. Changes of tables that were not published
// before this point were never streamed, so nothing else can name them.
func (inv *Invalidator) flushMessage(ctx context.Context, m replication.Message) error {
	inv.publicationFlushes.Add(1)
	inv.log.Error("flushing every memcached server of this region: changes of configured tables were not streamed",
		zap.ByteString("reason", m.Content), zap.Stringer("lsn", m.LSN))
	tx := inv.cur
	if !m.Transactional || tx == nil {
		tx = &txn{final: m.LSN}
	}
	return inv.enqueue(ctx, event{kind: evFlush, tx: tx}, true)
}
