package invalidator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cachesync/cachesync/replication"
	"github.com/cachesync/cachesync/test/cluster"
)

// fakeBackend records what is delivered and can be made to fail.
type fakeBackend struct {
	mu        sync.Mutex
	delivered map[string]int
	order     []string
	flushes   int
	fail      bool
	countOnly bool // keep no keys: for very large runs
	n         int
}

func newFakeBackend() *fakeBackend { return &fakeBackend{delivered: map[string]int{}} }

func (f *fakeBackend) invalidate(ctx context.Context, keys []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("fake: down")
	}
	f.n += len(keys)
	if f.countOnly {
		return nil
	}
	for _, k := range keys {
		f.delivered[k]++
		f.order = append(f.order, k)
	}
	return nil
}

func (f *fakeBackend) flushAll(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("fake: down")
	}
	f.flushes++
	return nil
}

func (f *fakeBackend) ping(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("fake: down")
	}
	return nil
}

func (f *fakeBackend) close() {}

func (f *fakeBackend) setFail(v bool) { f.mu.Lock(); f.fail = v; f.mu.Unlock() }

func (f *fakeBackend) count(k string) int { f.mu.Lock(); defer f.mu.Unlock(); return f.delivered[k] }

func (f *fakeBackend) total() int { f.mu.Lock(); defer f.mu.Unlock(); return f.n }

// fakeAcker records acks.
type fakeAcker struct {
	mu    sync.Mutex
	acks  []replication.LSN
	check func(replication.LSN)
}

func (a *fakeAcker) Ack(end replication.LSN) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.check != nil {
		a.check(end)
	}
	a.acks = append(a.acks, end)
}

func (a *fakeAcker) last() replication.LSN {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.acks) == 0 {
		return 0
	}
	return a.acks[len(a.acks)-1]
}

func (a *fakeAcker) all() []replication.LSN {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]replication.LSN(nil), a.acks...)
}

var usersRel = &replication.Relation{
	ID: 1, Namespace: "public", Name: "users", ReplicaIdentity: 'f',
	Columns: []replication.Column{{Name: "id", Key: true}, {Name: "name"}, {Name: "bio"}},
}

func txt(s string) replication.Value {
	return replication.Value{Kind: replication.Text, Data: []byte(s)}
}

var null = replication.Value{Kind: replication.Null}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Servers = []string{"fake:1"}
	cfg.Tables = map[string]TableRule{
		"public.users": {Keys: []string{"user:{id}", "user_by_name:{name}"}},
	}
	cfg.RetryMin = time.Millisecond
	cfg.RetryMax = 5 * time.Millisecond
	return cfg
}

// harness runs an Invalidator over a fake backend.
type harness struct {
	t   *testing.T
	inv *Invalidator
	be  *fakeBackend
	ack *fakeAcker
	ctx context.Context
}

func startHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	return startHarnessWith(t, cfg, newFakeBackend())
}

func startHarnessWith(t *testing.T, cfg Config, be *fakeBackend) *harness {
	t.Helper()
	h := &harness{t: t, be: be, ack: &fakeAcker{}}
	if cfg.Acker == nil {
		cfg.Acker = h.ack
	}
	h.inv, h.ctx = runInvalidator(t, cfg, be)
	return h
}

// runInvalidator runs an Invalidator for cfg until the test ends, over be
// for every server or, when be is nil, over cfg's real servers, and shows
// it usersRel.
func runInvalidator(tb testing.TB, cfg Config, be *fakeBackend) (*Invalidator, context.Context) {
	tb.Helper()
	if be == nil {
		return runInvalidatorOn(tb, cfg, nil)
	}
	return runInvalidatorOn(tb, cfg, func(string) backend { return be })
}

// runInvalidatorOn is runInvalidator with a backend per server address
// (nil: the real servers).
func runInvalidatorOn(tb testing.TB, cfg Config, backends func(addr string) backend) (*Invalidator, context.Context) {
	tb.Helper()
	inv, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if backends != nil {
		inv.newBackend = backends
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inv.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Run: %v", err)
		}
		inv.Close()
		inv.Close()
	})
	if err := inv.Relation(ctx, usersRel); err != nil {
		tb.Fatal(err)
	}
	return inv, ctx
}

// tx sends one transaction with the given changes.
func (h *harness) tx(final, end replication.LSN, changes ...*replication.Change) {
	h.t.Helper()
	ctx := h.ctx
	if err := h.inv.Begin(ctx, replication.Begin{FinalLSN: final, Xid: uint32(final), CommitTime: time.Now()}); err != nil {
		h.t.Fatal(err)
	}
	for _, c := range changes {
		if err := h.inv.Change(ctx, c); err != nil {
			h.t.Fatal(err)
		}
	}
	if err := h.inv.Commit(ctx, replication.Commit{CommitLSN: final, EndLSN: end, CommitTime: time.Now()}); err != nil {
		h.t.Fatal(err)
	}
}

func insert(id, name string) *replication.Change {
	return &replication.Change{Op: replication.Insert, Rel: usersRel, New: []replication.Value{txt(id), txt(name), txt("b")}}
}

func waitAck(t *testing.T, a *fakeAcker, end replication.LSN) {
	t.Helper()
	cluster.Eventually(t, 10*time.Second, func() error {
		if last := a.last(); last < end {
			return fmt.Errorf("ack %s not reached; last ack %s", end, last)
		}
		return nil
	})
}
