package invalidator

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachesync/cachesync/lease/route"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// work is one batch's share for one server: keys, or a flush_all.
type work struct {
	seq      uint64
	keys     []string
	flush    bool
	released time.Time
}

// server is one memcached server (of the pool or the gutter) and the work
// waiting for it. Its workers deliver independently of every other server:
// a down or slow server holds only its own keys.
type server struct {
	inv    *Invalidator
	addr   string
	gutter bool

	up      atomic.Bool
	upGauge prometheus.Gauge
	dropped prometheus.Counter

	mu       sync.Mutex
	queue    []*work // released, not yet taken by a worker; in seq order
	keys     int     // keys in queue
	inflight []uint64
	lastSeq  uint64 // newest seq pushed
	// owes is set when waiting keys were dropped; cover holds the seqs of
	// the dropped works, which complete once a flush_all taken after them
	// succeeds. flushing is set while a worker runs that flush: works
	// pushed meanwhile are not covered by it and are queued as usual.
	owes     bool
	flushing bool
	cover    []uint64
	// catchUntil is the newest seq pushed when the server came back after
	// being down: it is catching up until everything up to it is delivered.
	catchUntil uint64
	known      bool // the state has been observed once
	notify     chan struct{}

	split []string // release's scratch (gate or collector goroutine)
}

func (s *server) wake() {
	close(s.notify)
	s.notify = make(chan struct{})
}

// push queues w, or drops it when the server owes a flush that has not
// started. Past ServerBacklog, a down server's waiting keys are dropped and
// owed as a flush; an up server's are kept, and the collector waits
// (full): a server that is merely behind, as in a drain, must not lose its
// whole cache to a flush.
func (s *server) push(w *work) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastSeq = w.seq
	if s.owes && !s.flushing {
		s.drop(w)
		s.wake()
		return
	}
	if s.keys+len(w.keys) > s.inv.cfg.ServerBacklog && s.down() {
		n := s.keys + len(w.keys)
		for _, q := range s.queue {
			s.drop(q)
		}
		s.queue, s.keys = s.queue[:0], 0
		s.drop(w)
		if !s.owes {
			s.owes = true
			s.inv.log.Warn("memcached server holds too many invalidations: dropped them, it gets flush_all before anything past them is acknowledged",
				zap.String("server", s.addr), zap.Int("keys", n), zap.Int("server_backlog", s.inv.cfg.ServerBacklog))
		}
		s.wake()
		return
	}
	s.queue = append(s.queue, w)
	s.keys += len(w.keys)
	s.wake()
}

// drop frees w's keys and records that the owed flush must cover it.
func (s *server) drop(w *work) {
	s.dropped.Add(float64(len(w.keys)))
	putKeys(w.keys)
	s.cover = append(s.cover, w.seq)
}

// take waits for the next thing to do: an owed flush first, then the oldest
// queued work. It returns nil with flush set for an owed flush, whose cover
// the caller completes; ok is false when ctx ended. idle fires when nothing
// came for healthInterval (for the health ping).
func (s *server) take(ctx context.Context, idle <-chan time.Time) (w *work, cover []uint64, ok bool, timedOut bool) {
	for {
		s.mu.Lock()
		if s.owes && !s.flushing {
			s.flushing = true
			cover, s.cover = s.cover, nil
			s.mu.Unlock()
			return nil, cover, true, false
		}
		if len(s.queue) > 0 {
			w = s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			s.keys -= len(w.keys)
			s.inflight = append(s.inflight, w.seq)
			s.mu.Unlock()
			s.inv.track.signal()
			return w, nil, true, false
		}
		notify := s.notify
		s.mu.Unlock()
		select {
		case <-notify:
		case <-idle:
			return nil, nil, true, true
		case <-ctx.Done():
			return nil, nil, false, false
		}
	}
}

// finish records w as delivered by this server.
func (s *server) finish(w *work) {
	s.mu.Lock()
	for i, seq := range s.inflight {
		if seq == w.seq {
			s.inflight = append(s.inflight[:i], s.inflight[i+1:]...)
			break
		}
	}
	s.caughtUp()
	s.mu.Unlock()
}

// flushed records that the owed flush taken with take succeeded.
func (s *server) flushed() {
	s.mu.Lock()
	s.flushing = false
	if len(s.cover) == 0 {
		s.owes = false
		s.inv.log.Info("memcached server got its owed flush_all", zap.String("server", s.addr))
	}
	s.caughtUp()
	s.mu.Unlock()
}

// flushFailed puts a failed owed flush's cover back: the next flush covers
// it (ctx ended; the works are not acked).
func (s *server) flushFailed(cover []uint64) {
	s.mu.Lock()
	s.flushing = false
	s.cover = append(cover, s.cover...)
	s.mu.Unlock()
}

// oldest is the oldest seq not yet delivered here (0: none). s.mu held.
func (s *server) oldest() uint64 {
	var o uint64
	if len(s.cover) > 0 {
		o = s.cover[0]
	}
	if len(s.queue) > 0 && (o == 0 || s.queue[0].seq < o) {
		o = s.queue[0].seq
	}
	for _, seq := range s.inflight {
		if o == 0 || seq < o {
			o = seq
		}
	}
	return o
}

// caughtUp ends catching up once everything pushed before the server came
// back is delivered. s.mu held.
func (s *server) caughtUp() {
	if s.catchUntil == 0 {
		return
	}
	if o := s.oldest(); o == 0 || o > s.catchUntil {
		s.catchUntil = 0
		s.inv.log.Info("memcached server caught up", zap.String("server", s.addr))
	}
}

// setState records a server's reachability, logging only when it changes.
func (s *server) setState(up bool, err error) {
	was := s.up.Swap(up)
	s.mu.Lock()
	if s.known && was == up {
		s.mu.Unlock()
		return
	}
	first := !s.known
	s.known = true
	if up && !first && s.oldest() != 0 {
		s.catchUntil = s.lastSeq
	}
	s.mu.Unlock()
	s.inv.track.signal() // a full server that went down no longer holds the collector
	if up {
		s.upGauge.Set(1)
		s.inv.log.Info("memcached server up", zap.String("server", s.addr))
	} else {
		s.upGauge.Set(0)
		s.inv.log.Warn("memcached server down: its keys wait, the other servers go on; nothing past them is acked meanwhile",
			zap.String("server", s.addr), zap.Error(err))
	}
}

// state is the server as published.
func (s *server) state() ServerState {
	st := ServerState{Addr: s.addr, Up: s.up.Load(), Gutter: s.gutter}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.PendingKeys = s.keys
	switch {
	case !st.Up:
		st.State = route.StateDown
	case s.owes:
		st.State = route.StateOwesFlush
	case s.catchUntil != 0:
		st.State = route.StateCatchingUp
	default:
		st.State = route.StateUp
	}
	return st
}

// down reports a server seen failing (not one not yet tried). s.mu held.
func (s *server) down() bool { return s.known && !s.up.Load() }

// full reports a server not known down holding ServerBacklog keys.
func (s *server) full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.down() && s.keys >= s.inv.cfg.ServerBacklog
}

// pendingKeys is the keys waiting for this server.
func (s *server) pendingKeys() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys
}

// runWorker delivers s's work on a connection of its own until ctx ends.
// Worker 0 also pings the server when idle, so the dashboard shows a dead
// server even while there is nothing to deliver.
func (inv *Invalidator) runWorker(ctx context.Context, s *server, i int) {
	be := inv.newBackend(s.addr)
	defer be.close()
	var idle <-chan time.Time
	if i == 0 {
		inv.ping(ctx, s, be)
		t := time.NewTicker(healthInterval)
		defer t.Stop()
		idle = t.C
	}
	for {
		w, cover, ok, timedOut := s.take(ctx, idle)
		switch {
		case !ok:
			return
		case timedOut:
			inv.ping(ctx, s, be)
		case w == nil: // an owed flush
			if err := inv.withRetry(ctx, s, be.flushAll); err != nil {
				s.flushFailed(cover)
				return
			}
			s.flushed()
			now := time.Now()
			for _, seq := range cover {
				inv.delivered(s, &work{seq: seq}, now)
			}
		default:
			op := func(ctx context.Context) error { return be.invalidate(ctx, w.keys) }
			if w.flush {
				op = be.flushAll
			}
			if err := inv.withRetry(ctx, s, op); err != nil {
				return // ctx ended: not delivered, not acked
			}
			s.finish(w)
			inv.delivered(s, w, time.Now())
			putKeys(w.keys)
		}
	}
}

const healthInterval = 2 * time.Second

func (inv *Invalidator) ping(ctx context.Context, s *server, be backend) {
	err := be.ping(ctx)
	if ctx.Err() == nil {
		s.setState(err == nil, err)
	}
}

// withRetry runs op until it succeeds or ctx ends, backing off between
// failures. Invalidations are idempotent, so a retried batch is harmless.
func (inv *Invalidator) withRetry(ctx context.Context, s *server, op func(context.Context) error) error {
	return backoff(ctx, inv.cfg.RetryMin, inv.cfg.RetryMax, func(bool) (bool, error) {
		err := op(ctx)
		if err == nil {
			s.setState(true, nil)
			return true, nil
		}
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		s.setState(false, err)
		return false, nil
	})
}
