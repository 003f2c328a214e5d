package invalidator

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// The pipeline: the collector (Run's goroutine) seals batches and opens
// them in the tracker; the gate stage releases them, every batch its answer
// covers at once; release splits a batch's keys among the servers that own
// them; each server's workers deliver its work, InFlight batches at a time;
// the tracker acknowledges in commit order as deliveries complete.

// gateStage holds sealed batches until the gate passes them.
type gateStage struct {
	mu      sync.Mutex
	waiting []*batch
	notify  chan struct{}
	ps      []Pending // reused by run
}

func (g *gateStage) push(b *batch) {
	g.mu.Lock()
	g.waiting = append(g.waiting, b)
	g.mu.Unlock()
	select {
	case g.notify <- struct{}{}:
	default:
	}
}

// runGate asks the gate about every waiting batch and releases what its
// answer covers, until ctx ends.
func (inv *Invalidator) runGate(ctx context.Context) {
	g := inv.gating
	for {
		g.mu.Lock()
		g.ps = g.ps[:0]
		for _, b := range g.waiting {
			g.ps = append(g.ps, b.pending())
		}
		g.mu.Unlock()
		if len(g.ps) == 0 {
			select {
			case <-g.notify:
				continue
			case <-ctx.Done():
				return
			}
		}
		n, err := inv.passGate(ctx, g.ps)
		if err != nil {
			return // ctx ended
		}
		g.mu.Lock()
		passed := append([]*batch(nil), g.waiting[:n]...)
		g.waiting = append(g.waiting[:0], g.waiting[n:]...)
		g.mu.Unlock()
		for _, b := range passed {
			inv.release(b)
		}
	}
}

// passGate asks the gate, retrying when it fails for another reason than
// ctx: holding a batch is always safe, delivering it early is not.
func (inv *Invalidator) passGate(ctx context.Context, ps []Pending) (int, error) {
	var n int
	err := backoff(ctx, inv.cfg.RetryMin, inv.cfg.RetryMax, func(bool) (bool, error) {
		var err error
		n, err = inv.cfg.Gate.Passed(ctx, ps)
		if err == nil && n > 0 {
			return true, nil
		}
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		if err != nil {
			inv.log.Warn("gate failed; holding the batch", zap.Error(err))
		}
		return false, nil
	})
	return min(n, len(ps)), err
}

// release hands a batch that passed its gate to the servers: each key to
// the server that owns it and to its gutter server, a flush to every
// server. The batch counts its deliveries before any can complete.
func (inv *Invalidator) release(b *batch) {
	now := time.Now()
	b.released = now
	works := 0
	if b.flush {
		works += len(inv.servers)
	}
	works += inv.split(b)
	inv.track.expect(b, works)
	for _, s := range inv.servers {
		if b.flush {
			s.push(&work{seq: b.seq, flush: true, released: now})
		}
		if s.split != nil {
			s.push(&work{seq: b.seq, keys: s.split, released: now})
			s.split = nil
		}
	}
	inv.track.released(b)
}

// split routes b's keys into each server's split and returns how many
// servers got some. The batch's key slice goes back to the pool.
func (inv *Invalidator) split(b *batch) int {
	n := 0
	for _, k := range b.keys {
		for _, s := range inv.route(k) {
			if s.split == nil {
				s.split = getKeys()
				n++
			}
			s.split = append(s.split, k)
		}
	}
	putKeys(b.keys)
	b.keys = nil
	return n
}

// route returns the servers a key is invalidated on: its owner and, with a
// gutter pool, the gutter server that takes it while the owner is down
// (always, not only while this sidecar sees the owner down: a proxy may
// route to the gutter a moment before or after, and a gutter copy left
// valid would be a stale value served for up to gutter_ttl).
func (inv *Invalidator) route(k string) []*server {
	inv.routeBuf[0] = inv.servers[inv.router.Owner(k)]
	g, ok := inv.router.Gutter(k)
	if !ok {
		return inv.routeBuf[:1]
	}
	inv.routeBuf[1] = inv.servers[g]
	return inv.routeBuf[:2]
}

// delivered is called by a server's worker once w is acknowledged, or
// covered by a flush_all.
func (inv *Invalidator) delivered(s *server, w *work, now time.Time) {
	if len(w.keys) > 0 && !s.gutter {
		n := uint64(len(w.keys))
		inv.invalidations.Add(n)
		inv.rate.add(now, n)
	}
	if !w.released.IsZero() {
		inv.metrics.delivery.Observe(now.Sub(w.released).Seconds())
	}
	inv.lastDelivered.Store(now.UnixNano())
	inv.track.done(w.seq)
}

// acked is called in commit order for each batch once it and every batch
// before it are delivered.
func (inv *Invalidator) acked(b *batch, now time.Time) {
	if b.ackEnd != 0 && inv.cfg.Acker != nil {
		inv.cfg.Acker.Ack(b.ackEnd)
	}
	if inv.cfg.OnHeartbeat != nil {
		for _, hb := range b.hbs {
			inv.cfg.OnHeartbeat(hb.node, hb.sent, now)
		}
	}
}

// keyPool recycles the key slices of batches and works.
var keyPool = sync.Pool{New: func() any { s := make([]string, 0, 64); return &s }}

func getKeys() []string { return (*keyPool.Get().(*[]string))[:0] }

func putKeys(k []string) {
	if cap(k) == 0 || cap(k) > 1<<14 {
		return
	}
	clear(k[:cap(k)])
	k = k[:0]
	keyPool.Put(&k)
}
