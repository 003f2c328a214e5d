package invalidator

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cachesync/cachesync/lease/memclient"
	"github.com/cachesync/cachesync/lease/route"
	"github.com/cachesync/cachesync/replication"
	"github.com/cachesync/cachesync/test/cluster"
)

// mc is a memcached client for checking what the invalidator did.
type mc struct {
	t *testing.T
	c *memclient.Conn
}

func dialMC(t *testing.T, addr string) *mc {
	t.Helper()
	c, err := memclient.Dial(context.Background(), addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &mc{t: t, c: c}
}

func (m *mc) set(key, val string) {
	m.t.Helper()
	if err := m.c.Set(context.Background(), []string{key}, []byte(val), 0); err != nil {
		m.t.Fatal(err)
	}
}

// state reads key with mg and reports "fresh", "stale" or "missing". The
// first mg of a stale item takes its lease, so each key is read once.
func (m *mc) state(key string) string {
	m.t.Helper()
	got, err := m.c.MetaGet(context.Background(), []string{key}, "v")
	switch {
	case err != nil:
		m.t.Fatal(err)
	case got[0].Code == "EN":
		return "missing"
	case got[0].Stale:
		return "stale"
	}
	return "fresh"
}

// startReal runs an Invalidator against real memcached servers.
func startReal(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, ack: &fakeAcker{}}
	cfg.Acker = h.ack
	h.inv, h.ctx = runInvalidator(t, cfg, nil)
	return h
}

func rename(id, from, to string) *replication.Change {
	return &replication.Change{Op: replication.Update, Rel: usersRel,
		Old: []replication.Value{txt(id), txt(from), txt("b")},
		New: []replication.Value{txt(id), txt(to), txt("b")}}
}

func TestRealMemcachedStaleMode(t *testing.T) {
	srv := cluster.StartMemcached(t)
	m := dialMC(t, srv.Addr())
	for _, k := range []string{"user:1", "user_by_name:ann", "user_by_name:anna", "user:2", "user_by_name:bob", "user:3", "user_by_name:Zo%C3%AB"} {
		m.set(k, "v")
	}
	cfg := testConfig()
	cfg.Servers = []string{srv.Addr()}
	h := startReal(t, cfg)
	h.tx(10, 11, rename("1", "ann", "anna"))
	h.tx(20, 21, &replication.Change{Op: replication.Delete, Rel: usersRel,
		Old: []replication.Value{txt("3"), txt("Zoë"), txt("b")}})
	h.tx(30, 31, insert("9", "nobody")) // keys absent: NF is success
	waitAck(t, h.ack, 31)
	want := map[string]string{
		"user:1": "stale", "user_by_name:ann": "stale", "user_by_name:anna": "stale",
		"user:3": "stale", "user_by_name:Zo%C3%AB": "stale",
		"user:2": "fresh", "user_by_name:bob": "fresh",
		"user:9": "missing",
	}
	for k, w := range want {
		if got := m.state(k); got != w {
			t.Errorf("%s is %s, want %s", k, got, w)
		}
	}
	if s := h.inv.Stats(); s.Invalidations != 7 || !s.ServersUp[0].Up || s.LastDelivered.IsZero() {
		t.Errorf("stats %+v", s)
	}
}

// A stale copy on a gutter server lives at most gutter_ttl (md I
// T<min(stale_ttl, gutter_ttl)>), not stale_ttl: no gutter value outlives
// gutter_ttl. The owner's copy keeps stale_ttl.
func TestRealMemcachedGutterStaleTTL(t *testing.T) {
	pool, gut := cluster.StartMemcached(t), cluster.StartMemcached(t)
	cfg := testConfig()
	cfg.Servers, cfg.Gutter = []string{pool.Addr()}, []string{gut.Addr()}
	cfg.StaleTTL, cfg.GutterTTL = 30*time.Second, 3*time.Second
	ctx := context.Background()
	var conns []*memclient.Conn
	for _, srv := range []*cluster.Memcached{pool, gut} {
		c, err := memclient.Dial(ctx, srv.Addr(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Set(ctx, []string{"user:1"}, []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	h := startReal(t, cfg)
	h.tx(10, 11, insert("1", "ann"))
	waitAck(t, h.ack, 11)
	for i, limit := range []int64{30, 3} {
		got, err := conns[i].MetaGet(ctx, []string{"user:1"}, "t")
		if err != nil {
			t.Fatal(err)
		}
		// The owner's copy must keep more than gutter_ttl, or the bound on
		// the gutter copy proves nothing.
		if r := got[0]; !r.Stale || r.TTL < 1 || r.TTL > limit || (i == 0 && r.TTL <= 3) {
			t.Errorf("server %d (limit %ds): %+v", i, limit, r)
		}
	}
}

func TestRealMemcachedDeleteModeTwoServers(t *testing.T) {
	a, b := cluster.StartMemcached(t), cluster.StartMemcached(t)
	cfg := testConfig()
	cfg.Mode = ModeDelete
	cfg.Servers = []string{a.Addr(), b.Addr()}
	h := startReal(t, cfg)
	conns := []*mc{dialMC(t, a.Addr()), dialMC(t, b.Addr())}
	var cs []*replication.Change
	for i := 0; i < 200; i++ {
		conns[h.inv.router.Owner(fmt.Sprintf("user:%d", i))].set(fmt.Sprintf("user:%d", i), "v")
		cs = append(cs, insert(fmt.Sprint(i), fmt.Sprint("n", i)))
	}
	conns[0].set("keep", "v")
	h.tx(10, 11, cs...)
	waitAck(t, h.ack, 11)
	used := map[int]bool{}
	for i := 0; i < 200; i++ {
		k := fmt.Sprintf("user:%d", i)
		s := h.inv.router.Owner(k)
		used[s] = true
		if got := conns[s].state(k); got != "missing" {
			t.Fatalf("%s on server %d is %s after delete", k, s, got)
		}
	}
	if !used[0] || !used[1] || conns[0].state("keep") != "fresh" {
		t.Fatalf("servers used %v", used)
	}
}

// While the path to memcached is cut nothing is acked; after it heals
// everything is delivered and acked.
func TestRealMemcachedPartition(t *testing.T) {
	srv := cluster.StartMemcached(t)
	proxy := cluster.NewTCPProxy(t, srv.Addr())
	m := dialMC(t, srv.Addr())
	m.set("user:1", "v")
	m.set("user:2", "v")
	cfg := testConfig()
	cfg.Servers = []string{proxy.Addr()}
	cfg.OpTimeout = 300 * time.Millisecond
	cfg.DialTimeout = 300 * time.Millisecond
	cfg.RetryMax = 50 * time.Millisecond
	h := startReal(t, cfg)
	h.tx(10, 11, insert("1", "a"))
	waitAck(t, h.ack, 11)
	proxy.Cut()
	h.tx(20, 21, insert("2", "b"))
	h.tx(30, 31)
	cluster.Eventually(t, 5*time.Second, func() error {
		if h.inv.Stats().ServersUp[0].Up {
			return errors.New("server still up")
		}
		return nil
	})
	if got := h.ack.last(); got != 11 {
		t.Fatalf("acked %s while cut", got)
	}
	if got := m.state("user:2"); got != "fresh" {
		t.Fatalf("user:2 is %s while cut", got)
	}
	proxy.Heal()
	waitAck(t, h.ack, 31)
	// The previous mg took the lease of nothing (the item was fresh); now
	// it must be stale.
	if got := m.state("user:2"); got != "stale" {
		t.Fatalf("user:2 is %s after heal", got)
	}
	if !h.inv.Stats().ServersUp[0].Up {
		t.Fatal("server not back up")
	}
}

// A restarted memcached (empty, same port) is reconnected to.
func TestRealMemcachedRestart(t *testing.T) {
	srv := cluster.StartMemcached(t)
	cfg := testConfig()
	cfg.Servers = []string{srv.Addr()}
	cfg.RetryMax = 50 * time.Millisecond
	h := startReal(t, cfg)
	h.tx(10, 11, insert("1", "a"))
	waitAck(t, h.ack, 11)
	srv.Kill(t)
	h.tx(20, 21, insert("2", "b"))
	cluster.Eventually(t, 5*time.Second, func() error {
		if h.inv.Stats().ServersUp[0].Up {
			return errors.New("server still up")
		}
		return nil
	})
	if h.ack.last() != 11 {
		t.Fatalf("acked %s while memcached was dead", h.ack.last())
	}
	srv.Restart(t)
	waitAck(t, h.ack, 21)
}

func TestRealFlushAll(t *testing.T) {
	srv := cluster.StartMemcached(t)
	m := dialMC(t, srv.Addr())
	m.set("x", "v")
	cfg := testConfig()
	cfg.Servers = []string{srv.Addr()}
	inv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.FlushAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := m.state("x"); got != "missing" {
		t.Fatalf("x is %s after FlushAll", got)
	}
}

// BenchmarkRealDelivery measures keys per second from Change calls to
// memcached acknowledgement, on one real memcached.
func BenchmarkRealDelivery(b *testing.B) {
	srv := cluster.StartMemcached(b)
	cfg := testConfig()
	cfg.Servers = []string{srv.Addr()}
	cfg.Tables = map[string]TableRule{"public.users": {Keys: []string{"user:{id}"}}}
	ack := &fakeAcker{}
	cfg.Acker = ack
	inv, ctx := runInvalidator(b, cfg, nil)
	c := &replication.Change{Op: replication.Insert, Rel: usersRel, New: []replication.Value{txt(""), txt("n"), txt("b")}}
	b.ResetTimer()
	start := time.Now()
	_ = inv.Begin(ctx, replication.Begin{FinalLSN: 1, Xid: 1})
	for i := 0; i < b.N; i++ {
		c.New[0].Data = fmt.Appendf(c.New[0].Data[:0], "%d", i)
		if err := inv.Change(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	_ = inv.Commit(ctx, replication.Commit{CommitLSN: 1, EndLSN: 2})
	cluster.Eventually(b, time.Minute, func() error {
		if ack.last() < 2 {
			return errors.New("not acked yet")
		}
		return nil
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "keys/s")
}

// One of three real memcached servers stopped (SIGSTOP): the two others get
// their keys while it is stopped, nothing is acked past its keys, and once
// it runs again it gets them and is reported up.
func TestRealMemcachedServerStopped(t *testing.T) {
	servers := []*cluster.Memcached{cluster.StartMemcached(t), cluster.StartMemcached(t), cluster.StartMemcached(t)}
	cfg := testConfig()
	cfg.Tables = map[string]TableRule{"public.users": {Keys: []string{"user:{id}"}}}
	cfg.OpTimeout = 500 * time.Millisecond
	cfg.Servers = nil
	for _, s := range servers {
		cfg.Servers = append(cfg.Servers, s.Addr())
	}
	h := startReal(t, cfg)
	clients := make([]*cluster.KeyClient, len(servers))
	for i, s := range servers {
		clients[i] = cluster.DialKeys(t, s.Addr())
	}
	byServer := func(from, to int) [][]string {
		out := make([][]string, len(servers))
		for i := from; i < to; i++ {
			k := fmt.Sprintf("user:%d", i)
			o := h.inv.router.Owner(k)
			out[o] = append(out[o], k)
		}
		return out
	}
	rows := func(from, to int) []*replication.Change {
		var cs []*replication.Change
		for i := from; i < to; i++ {
			cs = append(cs, insert(fmt.Sprint(i), "n"))
		}
		return cs
	}
	// One round with every server running, so the connections are up.
	first := byServer(0, 300)
	for i, c := range clients {
		c.SetAll(t, first[i])
	}
	h.tx(10, 11, rows(0, 300)...)
	waitAck(t, h.ack, 11)

	stopped := servers[2]
	later := byServer(300, 600)
	for i, c := range clients[:2] {
		c.SetAll(t, later[i])
	}
	stopped.Pause(t)
	h.tx(20, 21, rows(300, 600)...)
	t0 := time.Now()
	for i, c := range clients[:2] {
		cluster.Eventually(t, 10*time.Second, func() error { return c.AllInvalidated(later[i]) })
	}
	t.Logf("keys on the two running servers invalidated %s after the commit, with the third stopped", time.Since(t0).Round(time.Millisecond))
	cluster.Eventually(t, 10*time.Second, func() error {
		if st := serverState(h.inv, stopped.Addr()); st.State != route.StateDown {
			return fmt.Errorf("stopped server: %+v", st)
		}
		return nil
	})
	if last := h.ack.last(); last != 11 {
		t.Fatalf("acked %s while the stopped server holds keys of 21", last)
	}
	stopped.Resume(t)
	waitAck(t, h.ack, 21)
	cluster.Eventually(t, 10*time.Second, func() error { return clients[2].AllInvalidated(later[2]) })
	cluster.Eventually(t, 10*time.Second, func() error {
		if st := serverState(h.inv, stopped.Addr()); st.State != route.StateUp {
			return fmt.Errorf("resumed server: %+v", st)
		}
		return nil
	})
}
