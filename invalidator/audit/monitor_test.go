package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachesync/cachesync/invalidator"
	"github.com/cachesync/cachesync/replication"
	"github.com/cachesync/cachesync/test/cluster"
)

// fakeCache is memcached as a map; reads are recorded.
type fakeCache struct {
	mu    sync.Mutex
	items map[string]fetched
	reads map[string]int
}

func (c *fakeCache) get(key string) (fetched, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads[key]++
	return c.items[key], nil
}
func (c *fakeCache) close() {}
func (c *fakeCache) set(key string, f fetched) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items[key] = f
}
func (c *fakeCache) readsOf(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads[key]
}

// fakeDB holds rows of one table by id; onRead runs after each read, so a
// test can change the row between the first read and the confirmation.
type fakeDB struct {
	mu     sync.Mutex
	rows   map[string]map[string]string
	reads  int
	onRead func(n int)
	pos    replication.LSN
}

func (d *fakeDB) row(_ context.Context, _ string, s map[string]string) (map[string]string, map[string]string, bool, error) {
	d.mu.Lock()
	id, ok := s["id"]
	if !ok {
		d.mu.Unlock()
		return nil, nil, false, errNoIdentity
	}
	r, found := d.rows[id]
	d.reads++
	n, on := d.reads, d.onRead
	d.mu.Unlock()
	if on != nil {
		on(n)
	}
	return map[string]string{"id": id}, r, found, nil
}
func (d *fakeDB) close() {}

// position is 0: every change the fake can show counts as delivered,
// unless a test sets pos.
func (d *fakeDB) position(context.Context) (replication.LSN, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pos, nil
}
func (d *fakeDB) readCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reads
}

func live(v string) fetched { return fetched{state: cached, value: []byte(v)} }

func newTestMonitor(t *testing.T, value string, edit func(*MonitorConfig)) (*Monitor, *fakeCache, *fakeDB) {
	t.Helper()
	cfg := DefaultMonitorConfig()
	cfg.DSN, cfg.Servers, cfg.Region, cfg.Source = "postgres://unused", []string{"127.0.0.1:1"}, "test", "main"
	cfg.Tables = map[string]MonitorTable{"users": {Keys: []string{"user:{id}", "name:{name}"}, Value: value}}
	cfg.Sample, cfg.After, cfg.ConfirmAfter, cfg.MaxPerSecond = 1, 0, 0, 10000
	if edit != nil {
		edit(&cfg)
	}
	m, err := NewMonitor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &fakeCache{items: map[string]fetched{}, reads: map[string]int{}}
	d := &fakeDB{rows: map[string]map[string]string{}}
	m.cache, m.db = c, d
	return m, c, d
}

func run(t *testing.T, m *Monitor) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func sample(id, key string, commit replication.LSN) invalidator.Sample {
	return invalidator.Sample{Table: "public.users", Key: key, Row: map[string]string{"id": id}, Commit: commit}
}

func waitStats(t *testing.T, m *Monitor, cond func(MonitorStats) error) MonitorStats {
	t.Helper()
	var s MonitorStats
	cluster.Eventually(t, 5*time.Second, func() error { s = m.Stats(); return cond(s) })
	return s
}

func TestMonitorChecksOnlyDeliveredKeys(t *testing.T) {
	m, c, d := newTestMonitor(t, "{id}|{name}", nil)
	d.rows["1"] = map[string]string{"id": "1", "name": "ann"}
	d.rows["2"] = map[string]string{"id": "2", "name": "bob"}
	c.set("user:1", live("1|ann"))
	c.set("user:2", live("2|bob"))
	run(t, m)
	m.Offer(sample("1", "user:1", 100))
	m.Offer(sample("2", "user:2", 200))
	m.Delivered(100) // the transaction whose commit record is at 100 ends later
	m.Delivered(150)
	waitStats(t, m, func(s MonitorStats) error {
		if s.Checked != 1 {
			return fmt.Errorf("checked %d, want 1", s.Checked)
		}
		return nil
	})
	if n := c.readsOf("user:2"); n != 0 {
		t.Fatalf("user:2 read %d times before its transaction was delivered", n)
	}
	m.Delivered(250)
	s := waitStats(t, m, func(s MonitorStats) error {
		if s.Checked != 2 {
			return fmt.Errorf("checked %d, want 2", s.Checked)
		}
		return nil
	})
	if s.Inconsistent != 0 || s.Unconfirmed != 0 || len(s.Recent) != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestMonitorStaleOrMissingIsConsistentWithoutAQuery(t *testing.T) {
	m, c, d := newTestMonitor(t, "{id}|{name}", nil)
	c.set("user:1", fetched{state: stale, value: []byte("1|old")})
	run(t, m)
	m.Offer(sample("1", "user:1", 1))
	m.Offer(sample("2", "user:2", 1)) // missing
	m.Delivered(10)
	waitStats(t, m, func(s MonitorStats) error {
		if s.Checked != 2 || s.Inconsistent != 0 {
			return fmt.Errorf("stats %+v", s)
		}
		return nil
	})
	if n := d.readCount(); n != 0 {
		t.Fatalf("%d queries for keys that hold no live value", n)
	}
}

func TestMonitorConfirmsADifference(t *testing.T) {
	m, c, d := newTestMonitor(t, "{id}|{name}", func(c *MonitorConfig) { c.Recent = 2 })
	for i := 1; i <= 3; i++ {
		id := fmt.Sprint(i)
		d.rows[id] = map[string]string{"id": id, "name": "new"}
		c.set("user:"+id, live(id+"|old"))
	}
	// user:3's row changes between the first read and the confirmation:
	// the difference is not reported.
	d.onRead = func(n int) {
		if n == 3 {
			d.rows["3"] = map[string]string{"id": "3", "name": "newer"}
		}
	}
	run(t, m)
	for i := 1; i <= 3; i++ {
		m.Offer(sample(fmt.Sprint(i), fmt.Sprintf("user:%d", i), 1))
	}
	m.Delivered(2)
	s := waitStats(t, m, func(s MonitorStats) error {
		if s.Checked != 3 {
			return fmt.Errorf("stats %+v", s)
		}
		return nil
	})
	if s.Inconsistent != 2 || s.Unconfirmed != 1 || len(s.Recent) != 2 {
		t.Fatalf("stats %+v, want 2 inconsistent and 1 unconfirmed", s)
	}
	// Newest first, values as they were read.
	if r := s.Recent[0]; r.Key != "user:2" || r.Cached != "2|old" || r.Database != "2|new" || r.Kind != KindValue || r.At.IsZero() {
		t.Fatalf("recent %+v", s.Recent)
	}
	if s.Recent[1].Key != "user:1" {
		t.Fatalf("recent %+v", s.Recent)
	}
}

func TestMonitorPresenceOnly(t *testing.T) {
	m, c, d := newTestMonitor(t, "", nil)
	d.rows["1"] = map[string]string{"id": "1", "name": "ann"}
	c.set("user:1", live("anything")) // row exists: consistent
	c.set("user:2", live("ghost"))    // row gone, key named by the id: inconsistent
	c.set("name:bob", live("ghost"))  // row gone, key named by a name: cannot tell
	c.set("name:cat", live("x"))      // row 1 is not named cat: not its key any more
	c.set("name:x", live("x"))        // a sample without its row's identity
	run(t, m)
	m.Offer(sample("1", "user:1", 1))
	m.Offer(sample("2", "user:2", 1))
	m.Offer(invalidator.Sample{Table: "public.users", Key: "name:bob", Row: map[string]string{"id": "2", "name": "bob"}, Commit: 1})
	m.Offer(invalidator.Sample{Table: "public.users", Key: "name:cat", Row: map[string]string{"id": "1", "name": "cat"}, Commit: 1})
	m.Offer(invalidator.Sample{Table: "public.users", Key: "name:x", Row: map[string]string{"name": "x"}, Commit: 1}) // no identity
	m.Offer(invalidator.Sample{Table: "public.other", Key: "o:1", Commit: 1})                                         // not configured
	m.Delivered(2)
	s := waitStats(t, m, func(s MonitorStats) error {
		if s.PresenceChecked != 2 || s.Skipped != 4 {
			return fmt.Errorf("stats %+v", s)
		}
		return nil
	})
	if s.PresenceInconsistent != 1 || s.Checked != 0 || len(s.Recent) != 1 || s.Recent[0].Database != NoRow || s.Recent[0].Kind != KindPresence {
		t.Fatalf("stats %+v", s)
	}
}

func TestMonitorOfferNeverBlocks(t *testing.T) {
	m, _, _ := newTestMonitor(t, "", func(c *MonitorConfig) { c.QueueSize = 2 })
	for i := 0; i < 5; i++ {
		m.Offer(sample("1", "user:1", 1)) // Run is not running: nothing drains
	}
	if s := m.Stats(); s.Dropped != 3 {
		t.Fatalf("dropped %d, want 3", s.Dropped)
	}
	// Run holds at most QueueSize more: the rest is dropped, not queued.
	run(t, m)
	for i := 0; i < 10; i++ {
		m.Offer(sample("1", "user:1", 1)) // never delivered
	}
	waitStats(t, m, func(s MonitorStats) error {
		if s.Dropped < 3+8 {
			return fmt.Errorf("dropped %d", s.Dropped)
		}
		return nil
	})
}

func TestMonitorRespectsItsRate(t *testing.T) {
	m, c, d := newTestMonitor(t, "{id}|{name}", func(c *MonitorConfig) { c.MaxPerSecond = 20 })
	d.rows["1"] = map[string]string{"id": "1", "name": "ann"}
	c.set("user:1", live("1|ann"))
	run(t, m)
	for i := 0; i < 30; i++ {
		m.Offer(sample("1", "user:1", 1))
	}
	start := time.Now()
	m.Delivered(2)
	waitStats(t, m, func(s MonitorStats) error {
		if s.Checked != 30 {
			return fmt.Errorf("checked %d", s.Checked)
		}
		return nil
	})
	// 30 checks at 20/s with a burst of 2 take at least 1.4 s: the cap is
	// a lower bound on time, which no load can break.
	if el := time.Since(start); el < 1400*time.Millisecond {
		t.Fatalf("30 checks in %s at 20/s", el)
	}
}

func TestLimiter(t *testing.T) {
	t0 := time.Unix(0, 0)
	l := newLimiter(10, t0) // burst 1
	if ok, _ := l.take(t0); !ok {
		t.Fatal("first take refused")
	}
	ok, wait := l.take(t0)
	if ok || wait != 100*time.Millisecond {
		t.Fatalf("second take: %v, wait %s", ok, wait)
	}
	if ok, _ := l.take(t0.Add(100 * time.Millisecond)); !ok {
		t.Fatal("take after the wait refused")
	}
	// Idle time saves at most the burst.
	l.take(t0.Add(time.Hour))
	if ok, _ := l.take(t0.Add(time.Hour)); ok {
		t.Fatal("saved more than the burst")
	}
}

func TestMonitorConfigRefusals(t *testing.T) {
	for _, tc := range []struct {
		edit func(*MonitorConfig)
		want string
	}{
		{func(c *MonitorConfig) { c.Sample = 1.5 }, "sample"},
		{func(c *MonitorConfig) { c.DSN = "" }, "DSN"},
		{func(c *MonitorConfig) { c.MaxPerSecond = 0 }, "max_per_second"},
		{func(c *MonitorConfig) {
			c.Tables = map[string]MonitorTable{"t": {Keys: []string{"k:{id}"}, Value: "{id"}}
		}, "table t"},
	} {
		cfg := DefaultMonitorConfig()
		cfg.DSN, cfg.Servers = "x", []string{"127.0.0.1:1"}
		tc.edit(&cfg)
		if _, err := NewMonitor(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err %v, want %q", err, tc.want)
		}
	}
}

func TestMonitorRunTwiceAndClose(t *testing.T) {
	m, _, _ := newTestMonitor(t, "", nil)
	done := make(chan error, 1)
	go func() { done <- m.Run(context.Background()) }()
	cluster.Eventually(t, 5*time.Second, func() error {
		if !m.running.Load() {
			return errors.New("not running")
		}
		return nil
	})
	if err := m.Run(context.Background()); err == nil {
		t.Fatal("second Run: want an error")
	}
	m.Close()
	m.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestMonitorConfirmsOnlyAfterWhatItSawIsDelivered: a database that has
// moved past the cache may only be waiting for an invalidation in flight.
// The difference is confirmed once the invalidator has delivered the
// position the first read saw, never before.
func TestMonitorConfirmsOnlyAfterWhatItSawIsDelivered(t *testing.T) {
	m, c, d := newTestMonitor(t, "{id}|{name}", nil)
	d.rows["1"] = map[string]string{"id": "1", "name": "new"}
	d.pos = 500
	c.set("user:1", live("1|old"))
	run(t, m)
	m.Offer(sample("1", "user:1", 1))
	m.Delivered(2)
	cluster.Eventually(t, 5*time.Second, func() error {
		if n := d.readCount(); n != 1 {
			return fmt.Errorf("%d database reads", n)
		}
		return nil
	})
	m.Delivered(499) // a poke that is still short of what the read saw
	if s := m.Stats(); s.Checked != 0 || s.Inconsistent != 0 {
		t.Fatalf("counted before position 500 was delivered: %+v", s)
	}
	m.Delivered(500)
	waitStats(t, m, func(s MonitorStats) error {
		if s.Inconsistent != 1 {
			return fmt.Errorf("stats %+v", s)
		}
		return nil
	})
}
