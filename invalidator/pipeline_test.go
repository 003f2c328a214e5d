package invalidator

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cachesync/cachesync/lease/route"
	"github.com/cachesync/cachesync/replication"
	"github.com/cachesync/cachesync/test/cluster"
)

// holdBackend is a fakeBackend whose deliveries of a held key block until
// the key is let go.
type holdBackend struct {
	*fakeBackend
	mu   sync.Mutex
	held map[string]chan struct{}
}

func (h *holdBackend) hold(k string) {
	h.mu.Lock()
	h.held[k] = make(chan struct{})
	h.mu.Unlock()
}

func (h *holdBackend) letGo(k string) {
	h.mu.Lock()
	close(h.held[k])
	delete(h.held, k)
	h.mu.Unlock()
}

func (h *holdBackend) invalidate(ctx context.Context, keys []string) error {
	for _, k := range keys {
		h.mu.Lock()
		ch := h.held[k]
		h.mu.Unlock()
		if ch != nil {
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return h.fakeBackend.invalidate(ctx, keys)
}

// Several batches are in delivery at once, and a later batch delivered
// before an earlier one is not acknowledged until the earlier one is.
func TestPipelinedAcksInOrder(t *testing.T) {
	cfg := testConfig()
	cfg.Tables = map[string]TableRule{"public.users": {Keys: []string{"user:{id}"}}}
	cfg.BatchSize = 1 // a batch per key
	be := &holdBackend{fakeBackend: newFakeBackend(), held: map[string]chan struct{}{}}
	h := runInvalidatorWith(t, cfg, map[string]backend{"fake:1": be})
	ack := h.ack
	be.hold("user:1")
	for i := 1; i <= 4; i++ {
		h.tx(replication.LSN(10*i), replication.LSN(10*i+1), insert(fmt.Sprint(i), "x"))
	}
	cluster.Eventually(t, 5*time.Second, func() error {
		if be.count("user:2") == 0 || be.count("user:3") == 0 || be.count("user:4") == 0 {
			return fmt.Errorf("later batches not delivered while the first is in flight (%d keys)", be.total())
		}
		return nil
	})
	if got := ack.all(); len(got) != 0 {
		t.Fatalf("acked %v while the first batch is undelivered", got)
	}
	be.letGo("user:1")
	waitAck(t, ack, 41)
	if got := ack.all(); !slices.IsSorted(got) || got[0] < 11 {
		t.Fatalf("acks %v", got)
	}
}

// One server down holds only its own keys: the other server gets its keys
// at once, nothing past the held keys is acked, and the down server gets
// its keys when it comes back (catching up, then up).
func TestServerDownHoldsOnlyItsKeys(t *testing.T) {
	cfg := testConfig()
	cfg.Tables = map[string]TableRule{"public.users": {Keys: []string{"user:{id}"}}}
	cfg.Servers = []string{"a:1", "b:1"}
	a, b := newFakeBackend(), newFakeBackend()
	h := runInvalidatorWith(t, cfg, map[string]backend{"a:1": a, "b:1": b})
	inv, ack := h.inv, h.ack
	onA, onB := keysOn(t, inv, "user:", 0, 200)
	laterA, _ := keysOn(t, inv, "user:", 200, 400)
	b.setFail(true)
	var cs []*replication.Change
	for i := 0; i < 200; i++ {
		cs = append(cs, insert(fmt.Sprint(i), "x"))
	}
	h.tx(10, 11, cs...)
	h.tx(20, 21, insert(laterA[0][len("user:"):], "y"))
	onA = append(onA, laterA[0])
	cluster.Eventually(t, 5*time.Second, func() error {
		for _, k := range onA {
			if a.count(k) == 0 {
				return fmt.Errorf("server a has not got %s", k)
			}
		}
		return nil
	})
	if st := serverState(inv, "b:1"); st.State != route.StateDown {
		t.Fatalf("b: %+v", st)
	}
	if st := serverState(inv, "a:1"); st.State != route.StateUp {
		t.Fatalf("a: %+v", st)
	}
	if got := ack.all(); len(got) != 0 || b.total() != 0 {
		t.Fatalf("acked %v with b's keys undelivered (b got %d)", got, b.total())
	}
	b.setFail(false)
	waitAck(t, ack, 21)
	for _, k := range onB {
		if b.count(k) != 1 || a.count(k) != 0 {
			t.Fatalf("%s: b %d, a %d", k, b.count(k), a.count(k))
		}
	}
	cluster.Eventually(t, 5*time.Second, func() error {
		if st := serverState(inv, "b:1"); st.State != route.StateUp {
			return fmt.Errorf("b: %+v", st)
		}
		return nil
	})
}

// A down server that holds more than ServerBacklog keys has them dropped
// and owes a flush: memory stays bounded, nothing past the dropped keys is
// acked until the flush_all succeeds, and the dropped keys are not sent one
// by one afterwards.
func TestOwedFlush(t *testing.T) {
	cfg := testConfig()
	cfg.Tables = map[string]TableRule{"public.users": {Keys: []string{"user:{id}"}}}
	cfg.Servers = []string{"a:1", "b:1"}
	cfg.ServerBacklog = 50
	cfg.BatchSize = 20
	a, b := newFakeBackend(), newFakeBackend()
	h := runInvalidatorWith(t, cfg, map[string]backend{"a:1": a, "b:1": b})
	inv, ack := h.inv, h.ack
	b.setFail(true)
	cluster.Eventually(t, 5*time.Second, func() error {
		if st := serverState(inv, "b:1"); st.State != route.StateDown {
			return fmt.Errorf("b: %+v", st)
		}
		return nil
	})
	maxB := 0
	for tx := 0; tx < 50; tx++ {
		var cs []*replication.Change
		for i := 0; i < 20; i++ {
			cs = append(cs, insert(fmt.Sprint(tx*20+i), "x"))
		}
		h.tx(replication.LSN(100+10*tx), replication.LSN(101+10*tx), cs...)
		maxB = max(maxB, serverState(inv, "b:1").PendingKeys)
	}
	last := replication.LSN(101 + 10*49)
	onA, _ := keysOn(t, inv, "user:", 0, 1000)
	cluster.Eventually(t, 5*time.Second, func() error {
		if st := serverState(inv, "b:1"); st.State != route.StateDown {
			return fmt.Errorf("b: %+v", st)
		}
		if n := a.total(); n != len(onA) {
			return fmt.Errorf("a got %d of its %d keys", n, len(onA))
		}
		return nil
	})
	if maxB > cfg.ServerBacklog {
		t.Fatalf("b held %d keys, backlog %d", maxB, cfg.ServerBacklog)
	}
	if got := ack.all(); len(got) != 0 {
		t.Fatalf("acked %v past dropped keys", got)
	}
	b.setFail(false)
	waitAck(t, ack, last)
	b.mu.Lock()
	flushes, got := b.flushes, b.n
	b.mu.Unlock()
	if flushes < 1 {
		t.Fatal("b was acked past dropped keys without a flush_all")
	}
	// At most the batches in flight when it went down, plus what came
	// after the flush, are delivered key by key.
	if got >= 1000/2 {
		t.Fatalf("b got %d keys one by one after a flush", got)
	}
	cluster.Eventually(t, 5*time.Second, func() error {
		if st := serverState(inv, "b:1"); st.State != route.StateUp {
			return fmt.Errorf("b: %+v", st)
		}
		return nil
	})
}

// Every key is also invalidated on the gutter server the router gives it.
func TestGutterInvalidated(t *testing.T) {
	cfg := testConfig()
	cfg.Tables = map[string]TableRule{"public.users": {Keys: []string{"user:{id}"}}}
	cfg.Servers = []string{"a:1", "b:1"}
	cfg.Gutter = []string{"g:1", "g:2"}
	bes := map[string]backend{}
	fakes := map[string]*fakeBackend{}
	for _, s := range append(slices.Clone(cfg.Servers), cfg.Gutter...) {
		fakes[s] = newFakeBackend()
		bes[s] = fakes[s]
	}
	h := runInvalidatorWith(t, cfg, bes)
	inv := h.inv
	var cs []*replication.Change
	for i := 0; i < 100; i++ {
		cs = append(cs, insert(fmt.Sprint(i), "x"))
	}
	h.tx(10, 11, cs...)
	waitAck(t, h.ack, 11)
	addrs := inv.router.Addrs()
	for i := 0; i < 100; i++ {
		k := fmt.Sprintf("user:%d", i)
		g, _ := inv.router.Gutter(k)
		if fakes[addrs[inv.router.Owner(k)]].count(k) != 1 || fakes[addrs[g]].count(k) != 1 {
			t.Fatalf("%s: not invalidated on its owner and its gutter server", k)
		}
	}
	if st := inv.Stats(); st.Invalidations != 100 || len(st.ServersUp) != 4 || !st.ServersUp[3].Gutter {
		t.Fatalf("stats %+v", st)
	}
}

// posGate answers for a position: every batch whose commit is below it.
type posGate struct {
	mu    sync.Mutex
	pos   replication.LSN
	calls int
	most  int // the most batches asked about at once
	moved chan struct{}
}

func (g *posGate) Passed(ctx context.Context, ps []Pending) (int, error) {
	for {
		g.mu.Lock()
		g.calls++
		g.most = max(g.most, len(ps))
		n := covered(g.pos, ps)
		moved := g.moved
		g.mu.Unlock()
		if n > 0 {
			return n, nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (g *posGate) set(pos replication.LSN) {
	g.mu.Lock()
	g.pos = pos
	close(g.moved)
	g.moved = make(chan struct{})
	g.mu.Unlock()
}

// One gate answer releases every batch it covers; while the oldest waits,
// the next batches are collected and sealed.
func TestGateReleasesByPosition(t *testing.T) {
	g := &posGate{moved: make(chan struct{})}
	cfg := testConfig()
	cfg.Gate = g
	cfg.GateQuantum = time.Nanosecond // a batch per transaction
	cfg.Tables = map[string]TableRule{"public.users": {Keys: []string{"user:{id}"}}}
	be := newFakeBackend()
	h := runInvalidatorWith(t, cfg, map[string]backend{"fake:1": be})
	inv := h.inv
	for i := 1; i <= 5; i++ {
		h.tx(replication.LSN(10*i), replication.LSN(10*i+1), insert(fmt.Sprint(i), "x"))
	}
	waiting := 0
	cluster.Eventually(t, 5*time.Second, func() error {
		inv.gating.mu.Lock()
		defer inv.gating.mu.Unlock()
		waiting = len(inv.gating.waiting)
		if inv.queued.Load() != 0 || inv.batchKeys.Load() != 0 || waiting < 2 {
			return fmt.Errorf("%d batches sealed and waiting for the gate", waiting)
		}
		return nil
	})
	if be.total() != 0 {
		t.Fatalf("delivered %v before the gate passed", be.order)
	}
	g.mu.Lock()
	callsBefore := g.calls
	g.mu.Unlock()
	g.set(1000)
	waitAck(t, h.ack, 51)
	g.mu.Lock()
	defer g.mu.Unlock()
	// The call that waited answers for what it was asked (the oldest batch
	// or more); the next, at once, for every batch sealed meanwhile.
	if be.total() != 5 || g.calls-callsBefore > 2 || g.most < waiting-1 {
		t.Fatalf("delivered %d keys with %d gate answers, at most %d batches a call", be.total(), g.calls-callsBefore, g.most)
	}
}

// runInvalidatorWith runs an Invalidator whose servers are the given fakes
// (by address), acking to the harness's fakeAcker.
func runInvalidatorWith(t *testing.T, cfg Config, bes map[string]backend) *harness {
	t.Helper()
	h := &harness{t: t, ack: &fakeAcker{}}
	cfg.Acker = h.ack
	h.inv, h.ctx = runInvalidatorOn(t, cfg, func(addr string) backend { return bes[addr] })
	return h
}

// keysOn splits prefix+from … prefix+(to-1) by the pool server that owns
// them (the first two servers).
func keysOn(t *testing.T, inv *Invalidator, prefix string, from, to int) (onA, onB []string) {
	for i := from; i < to; i++ {
		k := fmt.Sprintf("%s%d", prefix, i)
		if inv.router.Owner(k) == 0 {
			onA = append(onA, k)
		} else {
			onB = append(onB, k)
		}
	}
	if len(onA) == 0 || len(onB) == 0 {
		t.Fatalf("keys all on one server: %d / %d", len(onA), len(onB))
	}
	return onA, onB
}

func serverState(inv *Invalidator, addr string) ServerState {
	for _, s := range inv.Stats().ServersUp {
		if s.Addr == addr {
			return s
		}
	}
	return ServerState{}
}
