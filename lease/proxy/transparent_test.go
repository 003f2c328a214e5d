package proxy

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The stale set, as issue 12 found it: a reader misses, the row changes
// and its invalidation reaches memcached, then the reader stores what it
// read. With transparent leases the set is refused and memcached keeps no
// old value fresh.
func TestClassicStaleSetRefused(t *testing.T) {
	_, addrs := startMemcached(t, 1)
	s := startProxy(t, nil, addrs...)
	reader, writer := dial(t, s.Addr()), dial(t, s.Addr())
	writer.send("set item:1 0 0 2\r\nv1\r\n")
	writer.expect("STORED")
	invalidate(t, addrs[0], "item:1") // v1 -> v2 in the database

	reader.send("get item:1\r\n") // stale: a miss, and the lease
	reader.expect("END")
	invalidate(t, addrs[0], "item:1") // v2 -> v3 while the reader reads v2
	reader.send("set item:1 0 0 2\r\nv2\r\n")
	reader.expect("NOT_STORED")
	// memcached holds v1, still stale: no classic get through the proxy
	// returns it, and the next reader gets the lease and fills v3.
	mc := dial(t, addrs[0])
	mc.send("mg item:1 v c\r\n")
	l, _ := mc.readLine()
	var cas uint64
	if _, err := fmt.Sscanf(l, "VA 2 c%d X W", &cas); err != nil {
		t.Fatalf("memcached's item after the refused set: %q, want v1, stale (VA 2 c<cas> X W)", l)
	}
	mc.expect("v1")
	mc.send(fmt.Sprintf("md item:1 I C%d\r\n", cas)) // give back the lease this look took
	mc.expect("HD")
	next := dial(t, s.Addr())
	next.send("get item:1\r\nset item:1 0 0 2\r\nv3\r\nget item:1\r\n")
	next.expect("END", "STORED", "VALUE item:1 0 2", "v3", "END")

	// A cold key: the get leaves a placeholder; an invalidation (or a
	// delete, or another write) before the set voids the lease.
	for _, void := range []string{"md cold:%d I T30\r\n", "delete cold:%d\r\n", "set cold:%d 0 0 5\r\nnewer\r\n"} {
		key := fmt.Sprintf("cold:%d", len(void))
		reader.send("get " + key + "\r\n")
		reader.expect("END")
		mc.send(fmt.Sprintf(void, len(void)))
		_, _ = mc.readLine()
		reader.send("set " + key + " 0 0 3\r\nold\r\n")
		reader.expect("NOT_STORED")
	}
	if st := s.Stats(); st.ClassicSetsRejected != 4 || st.ClassicLeases < 5 {
		t.Fatalf("stats %+v", st)
	}
}

// Client libraries pool connections: the set may come back on another
// connection than its get, and still uses the get's lease.
func TestClassicLeaseSharedByConnections(t *testing.T) {
	_, addrs := startMemcached(t, 2)
	s := startProxy(t, nil, addrs...)
	a, b := dial(t, s.Addr()), dial(t, s.Addr())
	a.send("get k1 k2\r\n")
	a.expect("END")
	invalidate(t, addrs[s.route.Owner("k2")], "k2")
	b.send("set k1 0 0 1\r\n1\r\nset k2 0 0 1\r\n2\r\n")
	b.expect("STORED", "NOT_STORED")
	// A token is good for one store: the next set is a plain set.
	b.send("set k1 0 0 1\r\n3\r\nget k1\r\n")
	b.expect("STORED", "VALUE k1 0 1", "3", "END")
}

// The herd: 200 readers get a just-invalidated key at once, each reading
// "the database" on a miss and setting what it read. One of them gets the
// lease and reads; the others wait for its fill.
func TestClassicHerdOneDatabaseRead(t *testing.T) {
	_, addrs := startMemcached(t, 1)
	// The fill must come within HotMissWait; 200 goroutines on a shared
	// 2-core machine get 500 ms.
	s := startProxy(t, func(c *Config) { c.HotMissWait = 500 * time.Millisecond }, addrs...)
	var db atomic.Int64 // the row's version; each read of it counts
	var reads atomic.Int64
	readRow := func() string {
		reads.Add(1)
		return fmt.Sprintf("v%d", db.Load())
	}
	const readers = 200
	conns := make([]*rawConn, readers)
	for i := range conns {
		conns[i] = dial(t, s.Addr())
	}
	w := dial(t, s.Addr())
	w.send("set hot 0 0 2\r\nv0\r\n")
	w.expect("STORED")
	for round := 1; round <= 3; round++ {
		db.Store(int64(round))
		invalidate(t, addrs[0], "hot")
		reads.Store(0)
		got := make([]string, readers)
		errs := make([]error, readers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				got[i], errs[i] = c.getOrFill("hot", readRow)
			}()
		}
		close(start)
		wg.Wait()
		want := fmt.Sprintf("v%d", round)
		for i := range got {
			if errs[i] != nil || got[i] != want {
				t.Fatalf("round %d reader %d: %q %v, want %q", round, i, got[i], errs[i], want)
			}
		}
		if n := reads.Load(); n != 1 {
			t.Fatalf("round %d: %d database reads for %d readers, want 1", round, n, readers)
		}
	}
}

// getOrFill is what a classic app does: get; on a miss read the row and
// set it.
func (c *rawConn) getOrFill(key string, read func() string) (string, error) {
	c.send("get " + key + "\r\n")
	l, err := c.readLine()
	if err != nil {
		return "", err
	}
	if l != "END" {
		v, err := c.readLine()
		if err != nil {
			return "", err
		}
		if end, err := c.readLine(); err != nil || end != "END" {
			return "", fmt.Errorf("after %q: %q %v", l, end, err)
		}
		return v, nil
	}
	v := read()
	c.send(fmt.Sprintf("set %s 0 0 %d\r\n%s\r\n", key, len(v), v))
	if l, err := c.readLine(); err != nil || l != "STORED" {
		return "", fmt.Errorf("set: %q %v", l, err)
	}
	return v, nil
}

// A lease nobody uses (the reader decided not to cache) costs the next
// reader one HotMissWait; its set fills the key with the remembered token.
func TestClassicUnusedLease(t *testing.T) {
	_, addrs := startMemcached(t, 1)
	s := startProxy(t, nil, addrs...)
	first, second := dial(t, s.Addr()), dial(t, s.Addr())
	first.send("get lazy\r\n")
	first.expect("END") // took the lease, and never sets
	t0 := time.Now()
	second.send("get lazy\r\n")
	second.expect("END")
	waited := time.Since(t0)
	second.send("set lazy 0 0 1\r\nx\r\n")
	second.expect("STORED")
	t1 := time.Now()
	second.send("get lazy\r\n")
	second.expect("VALUE lazy 0 1", "x", "END")
	t.Logf("the reader after an unused lease waited %v (hot_miss_wait %v); the one after its fill %v",
		waited.Round(time.Millisecond), s.cfg.HotMissWait, time.Since(t1).Round(time.Microsecond))
	if st := s.Stats(); st.HotMisses != 1 || st.ClassicLeases != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// Losers that wait in vain get a miss, or with ClassicStale the stale value.
func TestClassicStaleOption(t *testing.T) {
	_, addrs := startMemcached(t, 1)
	for _, stale := range []bool{false, true} {
		s := startProxy(t, func(c *Config) { c.ClassicStale = stale }, addrs...)
		key := fmt.Sprintf("st:%v", stale)
		c := dial(t, s.Addr())
		c.send("set " + key + " 0 0 3\r\nold\r\n")
		c.expect("STORED")
		invalidate(t, addrs[0], key)
		c.send("get " + key + "\r\n") // takes the lease, does not fill
		c.expect("END")
		other := dial(t, s.Addr())
		other.send("get " + key + "\r\n")
		if stale {
			other.expect("VALUE "+key+" 0 3", "old", "END")
		} else {
			other.expect("END")
		}
		// The same get asking twice for a key does not wait for itself.
		k2 := key + ":twice"
		t0 := time.Now()
		other.send("get " + k2 + " " + k2 + "\r\n")
		other.expect("END")
		if d := time.Since(t0); d >= s.cfg.HotMissWait {
			t.Logf("get k k took %v", d) // not asserted: a clock; the counter below is
		}
		if st := s.Stats(); st.HotMisses != 1 {
			t.Fatalf("classic_stale %v: stats %+v", stale, st)
		}
	}
}

// Past ClassicLeaseLimit the oldest lease is forgotten: its key's set is a
// plain set, counted.
func TestClassicLeaseLimit(t *testing.T) {
	_, addrs := startMemcached(t, 1)
	s := startProxy(t, func(c *Config) { c.ClassicLeaseLimit = 2 }, addrs...)
	c := dial(t, s.Addr())
	c.send("get a b c\r\n")
	c.expect("END")
	invalidate(t, addrs[0], "a")
	invalidate(t, addrs[0], "b")
	c.send("set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\n")
	c.expect("STORED", "NOT_STORED") // a's lease was forgotten: a plain set
	if st := s.Stats(); st.ClassicLeasesEvicted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// BenchmarkUnusedClassicLease measures what a lease nobody uses costs the
// readers after it: the next reader's get (it waits HotMissWait, then
// misses), and, after that reader's set, the get after it (a hit).
func BenchmarkUnusedClassicLease(b *testing.B) {
	_, addrs := startMemcached(b, 1)
	s := startProxy(b, nil, addrs...)
	first, next := dial(b, s.Addr()), dial(b, s.Addr())
	var waited, after time.Duration
	for i := range b.N {
		key := fmt.Sprintf("unused:%d", i)
		first.send("get " + key + "\r\n")
		first.expect("END") // takes the lease, never sets
		t0 := time.Now()
		next.send("get " + key + "\r\n")
		next.expect("END")
		waited += time.Since(t0)
		next.send("set " + key + " 0 0 1\r\nx\r\n")
		next.expect("STORED")
		t1 := time.Now()
		next.send("get " + key + "\r\n")
		next.expect("VALUE "+key+" 0 1", "x", "END")
		after += time.Since(t1)
	}
	b.ReportMetric(float64(waited.Microseconds())/float64(b.N)/1000, "next_get_ms")
	b.ReportMetric(float64(after.Microseconds())/float64(b.N)/1000, "get_after_fill_ms")
	fmt.Printf("\nan unused classic lease (hot_miss_wait %v): the next reader's get %.1f ms (a miss; its set is STORED), the get after that fill %.2f ms (a hit); mean of %d\n\n",
		s.cfg.HotMissWait, float64(waited.Microseconds())/float64(b.N)/1000, float64(after.Microseconds())/float64(b.N)/1000, b.N)
}
