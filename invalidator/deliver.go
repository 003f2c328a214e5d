package invalidator

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// server is one memcached server of the pool and its reachability.
type server struct {
	addr    string
	be      backend
	up      atomic.Bool
	known   bool // the state has been observed once (loop goroutine only)
	upGauge prometheus.Gauge
	keys    []string // this batch's keys for the server (loop goroutine only)
}

// setState records a server's state, logging only when it changes.
func (inv *Invalidator) setState(s *server, up bool, err error) {
	was := s.up.Swap(up)
	if s.known && was == up {
		return
	}
	s.known = true
	if up {
		s.upGauge.Set(1)
	} else {
		s.upGauge.Set(0)
	}
	if up {
		inv.log.Info("memcached server up", zap.String("server", s.addr))
	} else {
		inv.log.Warn("memcached server down: retrying with backoff, nothing is acked meanwhile",
			zap.String("server", s.addr), zap.Error(err))
	}
}

// withRetry runs op until it succeeds or ctx ends, backing off between
// failures. Invalidations are idempotent, so a retried batch is harmless.
func (inv *Invalidator) withRetry(ctx context.Context, s *server, op func() error) error {
	return backoff(ctx, inv.cfg.RetryMin, inv.cfg.RetryMax, func(time.Duration) (bool, error) {
		err := op()
		if err == nil {
			inv.setState(s, true, nil)
			return true, nil
		}
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		inv.setState(s, false, err)
		return false, nil
	})
}

// forServers runs fn for each server selected by use, in parallel, and
// waits for all of them.
func (inv *Invalidator) forServers(ctx context.Context, use func(*server) bool, fn func(*server) error) error {
	var sel []*server
	for _, s := range inv.servers {
		if use(s) {
			sel = append(sel, s)
		}
	}
	if len(sel) == 1 {
		return fn(sel[0])
	}
	errs := make([]error, len(sel))
	var wg sync.WaitGroup
	for i, s := range sel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(s)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// deliver sends every key of the batch to the server that owns it and, for
// a flush, flush_all to every server. It returns only when all of it has
// been acknowledged, or with ctx's error.
func (inv *Invalidator) deliver(ctx context.Context, b *batch) error {
	for _, s := range inv.servers {
		s.keys = s.keys[:0]
	}
	for _, k := range b.keys {
		s := inv.servers[inv.ring.Pick(k)]
		s.keys = append(s.keys, k)
	}
	err := inv.forServers(ctx, func(s *server) bool { return len(s.keys) > 0 }, func(s *server) error {
		return inv.withRetry(ctx, s, func() error { return s.be.invalidate(ctx, s.keys) })
	})
	if err != nil || !b.flush {
		return err
	}
	return inv.forServers(ctx, func(*server) bool { return true }, func(s *server) error {
		return inv.withRetry(ctx, s, func() error { return s.be.flushAll(ctx) })
	})
}

// probe pings every server once, so the dashboard shows a dead server even
// while there is nothing to deliver.
func (inv *Invalidator) probe(ctx context.Context) {
	_ = inv.forServers(ctx, func(*server) bool { return true }, func(s *server) error {
		err := s.be.ping(ctx)
		if ctx.Err() == nil {
			inv.setState(s, err == nil, err)
		}
		return nil
	})
}

// process gates, delivers and acks one batch.
func (inv *Invalidator) process(ctx context.Context, b *batch) error {
	if inv.cfg.Gate != nil {
		p := Pending{Commit: b.newest.final, End: b.newestEnd, Xids: b.xids}
		if err := inv.waitGate(ctx, p); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := inv.deliver(ctx, b); err != nil {
		return err
	}
	now := time.Now()
	inv.metrics.delivery.Observe(now.Sub(start).Seconds())
	n := uint64(len(b.keys))
	inv.invalidations.Add(n)
	inv.rate.add(now, n)
	inv.lastDelivered.Store(now.UnixNano())
	if b.ackEnd != 0 && inv.cfg.Acker != nil {
		inv.cfg.Acker.Ack(b.ackEnd)
	}
	if inv.cfg.OnHeartbeat != nil {
		for _, hb := range b.hbs {
			inv.cfg.OnHeartbeat(hb.node, hb.sent, now)
		}
	}
	return nil
}

// waitGate waits for the gate, retrying when it fails for another reason
// than ctx: holding a batch is always safe, delivering it early is not.
func (inv *Invalidator) waitGate(ctx context.Context, p Pending) error {
	return backoff(ctx, inv.cfg.RetryMin, inv.cfg.RetryMax, func(time.Duration) (bool, error) {
		err := inv.cfg.Gate.Wait(ctx, p)
		if err == nil || ctx.Err() != nil {
			return true, err
		}
		inv.log.Warn("gate failed; holding the batch", zap.Error(err))
		return false, nil
	})
}
