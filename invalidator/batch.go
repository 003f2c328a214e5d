package invalidator

import (
	"context"
	"slices"
	"time"

	"github.com/cachesync/cachesync/replication"
)

// batch is the unit of gating, delivery and acknowledgement: distinct keys
// plus what delivering them completes (acks, heartbeats, a flush). Once
// sealed it belongs to the tracker (see acks.go) until it is acknowledged.
type batch struct {
	keys []string
	seen map[string]struct{}
	// newest is the last transaction with an event in the batch; newestEnd
	// is its end LSN when its COMMIT is in the batch.
	newest    *txn
	newestEnd replication.LSN
	xids      []uint32
	// ackEnd is the end LSN of the last transaction committed in the batch.
	ackEnd      replication.LSN
	hbs         []heartbeat
	flush       bool
	firstCommit time.Time

	// Set when sealed (tracker): its place in commit order, the deliveries
	// it still waits for (one more until it is released past its gate), and
	// the key count it holds against the gating bound.
	seq       uint64
	remaining int
	held      int
	released  time.Time
}

func newBatch() *batch { return &batch{seen: map[string]struct{}{}, keys: getKeys()} }

func (b *batch) reset() {
	clear(b.seen)
	if b.keys == nil {
		b.keys = getKeys()
	}
	b.keys = b.keys[:0]
	b.xids = b.xids[:0]
	b.hbs = b.hbs[:0]
	b.newest, b.newestEnd, b.ackEnd, b.flush, b.firstCommit = nil, 0, 0, false, time.Time{}
	b.seq, b.remaining, b.held, b.released = 0, 0, 0, time.Time{}
}

func (b *batch) pending() Pending {
	return Pending{Commit: b.newest.final, End: b.newestEnd, Xids: b.xids}
}

func (b *batch) empty() bool { return b.newest == nil }

func (b *batch) track(t *txn) {
	if t == b.newest {
		return
	}
	b.newest, b.newestEnd = t, 0
	if t.xid != 0 && !slices.Contains(b.xids, t.xid) {
		b.xids = append(b.xids, t.xid)
	}
	if b.firstCommit.IsZero() {
		b.firstCommit = t.commitTime
	}
}

// add puts ev in the batch and reports whether the batch must be sealed now.
func (inv *Invalidator) add(b *batch, ev event) bool {
	b.track(ev.tx)
	switch ev.kind {
	case evKey:
		if _, dup := b.seen[ev.key]; !dup {
			b.seen[ev.key] = struct{}{}
			b.keys = append(b.keys, ev.key)
		}
		return len(b.keys) >= inv.cfg.BatchSize
	case evCommit:
		b.ackEnd = ev.end
		b.newestEnd = ev.end
		// Sealing at a commit boundary once the batch spans a quantum keeps
		// a commit from waiting for the replay of much later ones.
		return inv.cfg.Gate != nil && !ev.tx.commitTime.IsZero() &&
			ev.tx.commitTime.Sub(b.firstCommit) >= inv.cfg.GateQuantum
	case evHeartbeat:
		b.hbs = append(b.hbs, *ev.hb)
	case evFlush:
		b.flush = true
		return true
	}
	return false
}

// collect fills b until it is sealed: full, flushed, a gate quantum, or
// BatchDelay after its first event.
func (inv *Invalidator) collect(ctx context.Context, b *batch) error {
	if inv.addCarry(b) {
		return nil
	}
	for b.empty() {
		select {
		case chunk := <-inv.queue:
			if inv.addChunk(b, chunk) {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	deadline := time.NewTimer(inv.cfg.BatchDelay)
	defer deadline.Stop()
	for {
		select {
		case chunk := <-inv.queue:
			if inv.addChunk(b, chunk) {
				return nil
			}
		case <-deadline.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// addChunk adds events until the batch is sealed; the rest waits in carry.
func (inv *Invalidator) addChunk(b *batch, chunk []event) bool {
	inv.carry, inv.carryChunk = chunk, chunk
	return inv.addCarry(b)
}

// addCarry adds the carried events until the batch is sealed. Once all of a
// chunk is added its events live on only as copies in the batch, so the
// chunk goes back to the pool.
//
// The batch's keys are published with the queue depth, keys first: an
// observer may count a moved event twice for a moment, never zero times.
func (inv *Invalidator) addCarry(b *batch) bool {
	for i, ev := range inv.carry {
		if inv.add(b, ev) {
			inv.batchKeys.Store(int64(len(b.keys)))
			inv.queued.Add(-int64(i + 1))
			inv.carry = inv.carry[i+1:]
			return true
		}
	}
	inv.batchKeys.Store(int64(len(b.keys)))
	inv.queued.Add(-int64(len(inv.carry)))
	inv.carry = nil
	if inv.carryChunk != nil {
		putChunk(inv.carryChunk)
		inv.carryChunk = nil
	}
	return false
}
