package invalidator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachesync/cachesync/replication"
	"github.com/cachesync/cachesync/test/cluster"
)

func TestInsertUpdateDeleteKeys(t *testing.T) {
	h := startHarness(t, testConfig())
	h.tx(10, 11, insert("1", "ann"))
	waitAck(t, h.ack, 11)
	for _, k := range []string{"user:1", "user_by_name:ann"} {
		if h.be.count(k) != 1 {
			t.Fatalf("insert: %s delivered %d times", k, h.be.count(k))
		}
	}
	// Rename: both names' keys go; the unchanged TOAST bio is irrelevant.
	h.tx(20, 21, &replication.Change{Op: replication.Update, Rel: usersRel,
		Old: []replication.Value{txt("1"), txt("ann"), txt("b")},
		New: []replication.Value{txt("1"), txt("anna"), {Kind: replication.Unchanged}}})
	waitAck(t, h.ack, 21)
	if h.be.count("user_by_name:ann") != 2 || h.be.count("user_by_name:anna") != 1 || h.be.count("user:1") != 2 {
		t.Fatalf("update delivered %v", h.be.delivered)
	}
	h.tx(30, 31, &replication.Change{Op: replication.Delete, Rel: usersRel,
		Old: []replication.Value{txt("1"), txt("anna"), txt("b")}})
	waitAck(t, h.ack, 31)
	if h.be.count("user_by_name:anna") != 2 || h.be.count("user:1") != 3 {
		t.Fatalf("delete delivered %v", h.be.delivered)
	}
	if got := h.be.total(); got != 7 {
		t.Fatalf("delivered %d keys, want 7: %v", got, h.be.order)
	}
}

func TestUnchangedToastTakenFromOld(t *testing.T) {
	cfg := testConfig()
	cfg.Tables = map[string]TableRule{"users": {Keys: []string{"bio:{bio}"}}}
	h := startHarness(t, cfg)
	h.tx(10, 11, &replication.Change{Op: replication.Update, Rel: usersRel,
		Old: []replication.Value{txt("1"), txt("ann"), txt("long")},
		New: []replication.Value{txt("1"), txt("ann"), {Kind: replication.Unchanged}}})
	waitAck(t, h.ack, 11)
	if h.be.count("bio:long") != 1 || h.be.total() != 1 {
		t.Fatalf("delivered %v", h.be.delivered)
	}
	if h.inv.Stats().KeyErrors != 0 {
		t.Fatalf("key errors %d", h.inv.Stats().KeyErrors)
	}
}

func TestNullLongAndUnknown(t *testing.T) {
	h := startHarness(t, testConfig())
	other := &replication.Relation{ID: 9, Namespace: "public", Name: "other", Columns: []replication.Column{{Name: "id"}}}
	if err := h.inv.Relation(h.ctx, other); err != nil {
		t.Fatal(err)
	}
	h.tx(10, 11,
		&replication.Change{Op: replication.Insert, Rel: usersRel, New: []replication.Value{txt("1"), null, txt("b")}},
		insert("2", strings.Repeat("x", 300)),
		&replication.Change{Op: replication.Insert, Rel: other, New: []replication.Value{txt("1")}},
	)
	waitAck(t, h.ack, 11)
	if h.be.total() != 2 || h.be.count("user:1") != 1 || h.be.count("user:2") != 1 {
		t.Fatalf("delivered %v", h.be.order)
	}
	if s := h.inv.Stats(); s.KeyErrors != 1 {
		t.Fatalf("key errors %d, want 1", s.KeyErrors)
	}
}

func TestCoalescing(t *testing.T) {
	cfg := testConfig()
	cfg.BatchDelay = 200 * time.Millisecond // all 51 rows are queued well within it
	cfg.BatchSize = 4
	h := startHarness(t, cfg)
	var cs []*replication.Change
	for i := 0; i < 50; i++ {
		cs = append(cs, insert("1", "ann"))
	}
	cs = append(cs, insert("2", "bob"))
	h.tx(10, 11, cs...)
	waitAck(t, h.ack, 11)
	if h.be.count("user:1") != 1 || h.be.count("user_by_name:ann") != 1 || h.be.total() != 4 {
		t.Fatalf("delivered %v", h.be.order)
	}
}

// The ack of a transaction never passes one of its keys, or a key of an
// earlier transaction, however the transactions fall into batches.
func TestInOrderAcks(t *testing.T) {
	cfg := testConfig()
	cfg.BatchSize = 7
	be := newFakeBackend()
	var mu sync.Mutex
	keysOf := map[replication.LSN][]string{}
	var ackErr error
	acker := &fakeAcker{check: func(end replication.LSN) {
		mu.Lock()
		defer mu.Unlock()
		for e, ks := range keysOf {
			if e > end {
				continue
			}
			for _, k := range ks {
				if be.count(k) == 0 && ackErr == nil {
					ackErr = fmt.Errorf("ack %s before key %s of transaction %s", end, k, e)
				}
			}
		}
	}}
	cfg.Acker = acker
	h := startHarnessWith(t, cfg, be)
	var last replication.LSN
	for i := 1; i <= 300; i++ {
		final, end := replication.LSN(i*10), replication.LSN(i*10+5)
		var cs []*replication.Change
		var ks []string
		for j := 0; j < i%4; j++ { // 0..3 rows: some transactions have no keys
			id := fmt.Sprint(i*10 + j)
			cs = append(cs, insert(id, "n"+id))
			ks = append(ks, "user:"+id, "user_by_name:n"+id)
		}
		mu.Lock()
		keysOf[end] = ks
		mu.Unlock()
		h.tx(final, end, cs...)
		last = end
	}
	waitAck(t, acker, last)
	mu.Lock()
	defer mu.Unlock()
	if ackErr != nil {
		t.Fatal(ackErr)
	}
	acks := acker.all()
	for i := 1; i < len(acks); i++ {
		if acks[i] <= acks[i-1] {
			t.Fatalf("acks out of order: %v", acks)
		}
	}
}

func TestServerDownNothingAcked(t *testing.T) {
	h := startHarness(t, testConfig())
	h.tx(10, 11, insert("1", "ann"))
	waitAck(t, h.ack, 11)
	h.be.setFail(true)
	h.tx(20, 21, insert("2", "bob"))
	h.tx(30, 31) // no keys, but after an undelivered one
	cluster.Eventually(t, 5*time.Second, func() error {
		if s := h.inv.Stats(); s.ServersUp[0].Up {
			return errors.New("server still reported up")
		}
		return nil
	})
	if h.ack.last() != 11 || h.be.count("user:2") != 0 {
		t.Fatalf("acked %s while down", h.ack.last())
	}
	h.be.setFail(false)
	waitAck(t, h.ack, 31)
	if h.be.count("user:2") != 1 || !h.inv.Stats().ServersUp[0].Up {
		t.Fatalf("after heal: delivered %v, stats %+v", h.be.delivered, h.inv.Stats())
	}
}

// gate is a fake Gate that holds batches until open is closed, then passes
// every batch it is asked about.
type gate struct {
	mu      sync.Mutex
	open    chan struct{}
	pending []Pending // every batch it was asked about, in order, once
}

func (g *gate) Passed(ctx context.Context, ps []Pending) (int, error) {
	g.mu.Lock()
	g.pending = append(g.pending, Pending{Commit: ps[0].Commit, End: ps[0].End, Xids: append([]uint32(nil), ps[0].Xids...)})
	open := g.open
	g.mu.Unlock()
	select {
	case <-open:
		return 1, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (g *gate) seen() []Pending {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Pending(nil), g.pending...)
}

func TestGateHoldsDelivery(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	cfg := testConfig()
	cfg.Gate = g
	h := startHarness(t, cfg)
	h.tx(100, 105, insert("1", "ann"))
	cluster.Eventually(t, 5*time.Second, func() error {
		if len(g.seen()) == 0 {
			return errors.New("gate not asked")
		}
		return nil
	})
	if h.be.total() != 0 || h.ack.last() != 0 {
		t.Fatalf("delivered %v / acked %s before the gate opened", h.be.order, h.ack.last())
	}
	p := g.seen()[0]
	if p.Commit != 100 || p.End != 105 || len(p.Xids) != 1 || p.Xids[0] != 100 {
		t.Fatalf("pending %+v", p)
	}
	close(g.open)
	waitAck(t, h.ack, 105)
	if h.be.count("user:1") != 1 {
		t.Fatalf("delivered %v", h.be.order)
	}
}

// A batch that ends mid-transaction is gated on the commit LSN known from
// Begin, with End unknown.
func TestGateMidTransaction(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	close(g.open)
	cfg := testConfig()
	cfg.Gate = g
	cfg.BatchSize = 2
	cfg.BatchDelay = 200 * time.Millisecond
	h := startHarness(t, cfg)
	h.tx(100, 105, insert("1", "a"), insert("2", "b"), insert("3", "c"))
	waitAck(t, h.ack, 105)
	ps := g.seen()
	if len(ps) < 2 || ps[0].Commit != 100 || ps[0].End != 0 || ps[len(ps)-1].End != 105 {
		t.Fatalf("pendings %+v", ps)
	}
}

func TestHeartbeat(t *testing.T) {
	type hb struct {
		node string
		sent time.Time
	}
	got := make(chan hb, 1)
	cfg := testConfig()
	cfg.OnHeartbeat = func(node string, sent, at time.Time) { got <- hb{node, sent} }
	h := startHarness(t, cfg)
	sent := time.Unix(0, 1700000000123456789)
	ctx := h.ctx
	_ = h.inv.Begin(ctx, replication.Begin{FinalLSN: 10, Xid: 5})
	_ = h.inv.Message(ctx, replication.Message{Transactional: true, LSN: 9, Prefix: replication.HeartbeatPrefix,
		Content: []byte(fmt.Sprintf("west-1 %d", sent.UnixNano()))})
	_ = h.inv.Commit(ctx, replication.Commit{CommitLSN: 10, EndLSN: 11})
	select {
	case v := <-got:
		if v.node != "west-1" || !v.sent.Equal(sent) {
			t.Fatalf("heartbeat %+v", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no heartbeat callback")
	}
	waitAck(t, h.ack, 11)
}

func TestTruncate(t *testing.T) {
	cfg := testConfig()
	cfg.Tables["public.flushed"] = TableRule{Keys: []string{"f:{id}"}, Truncate: TruncateFlush}
	h := startHarness(t, cfg)
	flushed := &replication.Relation{ID: 2, Namespace: "public", Name: "flushed", ReplicaIdentity: 'd',
		Columns: []replication.Column{{Name: "id", Key: true}}}
	h.tx(10, 11, &replication.Change{Op: replication.Truncate, Truncated: []*replication.Relation{usersRel}})
	waitAck(t, h.ack, 11)
	if h.be.flushes != 0 || h.inv.Stats().Truncates != 1 {
		t.Fatalf("log truncate: flushes %d stats %+v", h.be.flushes, h.inv.Stats())
	}
	h.tx(20, 21, &replication.Change{Op: replication.Truncate, Truncated: []*replication.Relation{flushed}})
	waitAck(t, h.ack, 21)
	h.be.mu.Lock()
	defer h.be.mu.Unlock()
	if h.be.flushes != 1 || h.inv.Stats().Truncates != 2 {
		t.Fatalf("flush truncate: flushes %d", h.be.flushes)
	}
}

func TestRelationIdentityRefused(t *testing.T) {
	h := startHarness(t, testConfig())
	weak := &replication.Relation{ID: 1, Namespace: "public", Name: "users", ReplicaIdentity: 'd',
		Columns: []replication.Column{{Name: "id", Key: true}, {Name: "name"}}}
	err := h.inv.Relation(h.ctx, weak)
	if err == nil || !strings.Contains(err.Error(), "ALTER TABLE public.users REPLICA IDENTITY FULL;") ||
		!strings.Contains(err.Error(), "name") {
		t.Fatalf("err = %v", err)
	}
	dropped := &replication.Relation{ID: 1, Namespace: "public", Name: "users", ReplicaIdentity: 'f',
		Columns: []replication.Column{{Name: "id", Key: true}}}
	if err := h.inv.Relation(h.ctx, dropped); err == nil || !strings.Contains(err.Error(), "no column name") {
		t.Fatalf("err = %v", err)
	}
}

// A million-row transaction streams through a small queue: Change blocks
// (back-pressure) instead of buffering, and the ack comes once all of it
// is delivered.
func TestMillionRowTransaction(t *testing.T) {
	cfg := testConfig()
	cfg.Tables = map[string]TableRule{"public.users": {Keys: []string{"user:{id}"}}}
	cfg.MaxQueued = 1024
	cfg.ServerBacklog = 1024
	be := newFakeBackend()
	be.countOnly = true
	h := startHarnessWith(t, cfg, be)
	const rows = 1_000_000
	ctx := h.ctx
	if err := h.inv.Begin(ctx, replication.Begin{FinalLSN: 100, Xid: 7}); err != nil {
		t.Fatal(err)
	}
	c := &replication.Change{Op: replication.Insert, Rel: usersRel, New: []replication.Value{txt(""), txt("n"), txt("b")}}
	maxDepth := 0
	buf := make([]byte, 0, 16)
	for i := 0; i < rows; i++ {
		buf = fmt.Appendf(buf[:0], "%d", i)
		c.New[0].Data = buf
		if err := h.inv.Change(ctx, c); err != nil {
			t.Fatal(err)
		}
		if i%4096 == 0 {
			maxDepth = max(maxDepth, h.inv.queueDepth())
			if h.ack.last() != 0 {
				t.Fatalf("acked mid-transaction")
			}
		}
	}
	if err := h.inv.Commit(ctx, replication.Commit{CommitLSN: 100, EndLSN: 200}); err != nil {
		t.Fatal(err)
	}
	waitAck(t, h.ack, 200)
	if n := h.be.total(); n != rows {
		t.Fatalf("delivered %d keys, want %d", n, rows)
	}
	// Queued chunks, the chunk being batched, the batch itself, and the
	// server's backlog (one batch past it: it is checked before a push).
	if bound := 1024 + 2*queueChunk + cfg.BatchSize + cfg.ServerBacklog + cfg.BatchSize; maxDepth > bound {
		t.Fatalf("queue depth reached %d, bound %d", maxDepth, bound)
	}
	if s := h.inv.Stats(); s.Invalidations != rows {
		t.Fatalf("stats %+v", s)
	}
}
