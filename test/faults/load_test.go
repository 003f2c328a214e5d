package faults

import (
	"bufio"
	"context"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachesync/cachesync/invalidator/audit"
	"github.com/cachesync/cachesync/lease"
	"github.com/cachesync/cachesync/replication"
	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

const (
	writeRate   = 100 // updates per second on the primary
	sampleEvery = 20  // one write in sampleEvery is watched for staleness
	pollEvery   = 5 * time.Millisecond
	retryPause  = 20 * time.Millisecond // pacing after an error during a fault
)

// load is the running workload of one scenario.
type load struct {
	cancel       context.CancelFunc
	writersDone  sync.WaitGroup
	readersDone  sync.WaitGroup
	watchersDone sync.WaitGroup
	stopWriters  chan struct{}
	stopReaders  chan struct{}
	stopWatch    chan struct{}

	writes, reads, readErrs, writeErrs atomic.Int64
	watchers                           []*watcher // per region and key group, in world.regions order
	// fills counts the readers' database reads by key group.
	fills map[string]*atomic.Int64
}

// keyGroup is a share of a region's keys, watched and counted apart.
type keyGroup struct {
	name string
	keep func(key string) bool // nil: every key
}

func (g keyGroup) has(key string) bool { return g.keep == nil || g.keep(key) }

// watcher returns the watcher of key group name.
func (l *load) watcher(name string) *watcher {
	for _, wt := range l.watchers {
		if wt.region == name {
			return wt
		}
	}
	panic("no watcher " + name)
}

// sample is a watched write: the cache must stop serving versions below
// version after committed.
type sample struct {
	key       string
	version   int
	committed time.Time
	server    int // the port of the server it committed on
}

func startLoad(t *testing.T, w *world) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel, stopWriters: make(chan struct{}), stopReaders: make(chan struct{}), stopWatch: make(chan struct{}),
		fills: map[string]*atomic.Int64{}}
	t.Cleanup(l.abort)
	w.load = l
	groupsOf := func(r *fleet.Region) []keyGroup {
		if gs := w.groups[r.Spec.Name]; len(gs) > 0 {
			return gs
		}
		return []keyGroup{{name: r.Spec.Name}}
	}
	// Every counter exists before the first reader runs: readers read fills.
	for _, r := range w.regions {
		for _, g := range groupsOf(r) {
			l.fills[g.name] = new(atomic.Int64)
		}
	}
	for _, r := range w.regions {
		groups := groupsOf(r)
		for _, g := range groups {
			wt := &watcher{region: g.name, addr: r.ProxyAddr, group: g}
			l.watchers = append(l.watchers, wt)
			l.watchersDone.Add(1)
			go func() { defer l.watchersDone.Done(); wt.run(l.stopWatch) }()
		}
		for i := 0; i < 2; i++ {
			l.readersDone.Add(1)
			go func() { defer l.readersDone.Done(); l.reader(ctx, r, groups) }()
		}
	}
	for i := 0; i < 2; i++ {
		l.writersDone.Add(1)
		go func() { defer l.writersDone.Done(); l.writer(ctx, w.writeDSN()) }()
	}
	return l
}

// stopWrites ends the writers; readers go on, so that a refill from a
// lagging database during quiescence would be caught.
func (l *load) stopWrites() {
	select {
	case <-l.stopWriters:
	default:
		close(l.stopWriters)
	}
	l.writersDone.Wait()
}

// finish stops readers, waits (bounded) for every watched write to stop
// being served, and returns how many never did.
func (l *load) finish() (unresolved int) {
	l.stopWrites()
	close(l.stopReaders)
	l.readersDone.Wait()
	// Up to 10s for the last ones; what is still pending then is the answer.
	_ = cluster.Poll(10*time.Second, func() error {
		unresolved = 0
		for _, wt := range l.watchers {
			unresolved += wt.pendingCount()
		}
		if unresolved > 0 {
			return errPending
		}
		return nil
	})
	close(l.stopWatch)
	l.watchersDone.Wait()
	return unresolved
}

func (l *load) abort() {
	l.cancel()
	select {
	case <-l.stopReaders:
	default:
		close(l.stopReaders)
	}
	l.stopWrites()
	l.readersDone.Wait()
	select {
	case <-l.stopWatch:
	default:
		close(l.stopWatch)
	}
	l.watchersDone.Wait()
}

func (l *load) ops() int64 { return l.writes.Load() + l.reads.Load() }

// writer updates random hot rows at writeRate/2, reconnecting through
// faults; every sampleEvery-th committed write is handed to the watchers.
func (l *load) writer(ctx context.Context, dsn string) {
	tick := time.NewTicker(2 * time.Second / writeRate)
	defer tick.Stop()
	// SQLConn reconnects after the faults that cut the connection.
	db := replication.NewSQLConn(dsn, nil)
	defer db.Close()
	for {
		select {
		case <-l.stopWriters:
			return
		case <-tick.C:
		}
		id := 1 + rand.IntN(hotRows)
		var v, server int
		if err := db.QueryRow(ctx, "UPDATE items SET version = version + 1 WHERE id = $1 RETURNING version, inet_server_port()", id).Scan(&v, &server); err != nil {
			l.writeErrs.Add(1)
			continue
		}
		if n := l.writes.Add(1); n%sampleEvery == 0 {
			s := sample{key: "item:" + strconv.Itoa(id), version: v, committed: time.Now(), server: server}
			for _, wt := range l.watchers {
				if wt.group.has(s.key) {
					wt.add(s)
				}
			}
		}
	}
}

// reader reads hot rows through the region's proxy with leases, filling
// from the region's database.
func (l *load) reader(ctx context.Context, r *fleet.Region, groups []keyGroup) {
	client, err := lease.NewClient(r.ProxyAddr)
	if err != nil {
		panic(err) // only an empty address fails
	}
	defer client.Close()
	db := replication.NewSQLConn(r.Spec.ReadDSN, nil)
	defer db.Close()
	for {
		select {
		case <-l.stopReaders:
			return
		default:
		}
		id := 1 + rand.IntN(hotRows)
		key := "item:" + strconv.Itoa(id)
		_, err := client.GetOrFill(ctx, key, time.Minute, func(ctx context.Context) ([]byte, error) {
			for _, g := range groups {
				if g.has(key) {
					l.fills[g.name].Add(1)
				}
			}
			var v int
			if err := db.QueryRow(ctx, "SELECT version FROM items WHERE id = $1", id).Scan(&v); err != nil {
				return nil, err
			}
			return []byte(strconv.Itoa(id) + "|" + strconv.Itoa(v)), nil
		})
		if err != nil {
			l.readErrs.Add(1)
			pause(l.stopReaders, retryPause)
			continue
		}
		l.reads.Add(1)
	}
}

// pause paces a retry loop; it is not a wait for a condition.
func pause(stop <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-stop:
	case <-t.C:
	}
}

// watcher polls one region's proxy with classic gets (stale = miss) until
// each sampled key no longer serves a version older than the sample's.
type watcher struct {
	region string // or the key group's name
	addr   string
	group  keyGroup
	st     audit.Staleness

	mu      sync.Mutex
	pending []sample
	// lost, once set, says which writes the database lost (a failover):
	// they are dropped, never watched, since no cache can ever show them.
	lost    func(sample) bool
	dropped int
}

func (wt *watcher) add(s sample) {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	if wt.lost != nil && wt.lost(s) {
		wt.dropped++
		return
	}
	wt.pending = append(wt.pending, s)
}

// dropLost stops watching the writes lost says the database lost, pending
// or still to be added, and returns how many were pending.
func (l *load) dropLost(lost func(sample) bool) (dropped int) {
	for _, wt := range l.watchers {
		wt.mu.Lock()
		wt.lost = lost
		kept := wt.pending[:0]
		for _, s := range wt.pending {
			if lost(s) {
				wt.dropped++
				continue
			}
			kept = append(kept, s)
		}
		wt.pending = kept
		dropped += wt.dropped
		wt.mu.Unlock()
	}
	return dropped
}

func (wt *watcher) pendingCount() int {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	return len(wt.pending)
}

// oldestPending is how long ago the oldest write still served with an old
// version committed (0: none).
func (wt *watcher) oldestPending(now time.Time) time.Duration {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	var d time.Duration
	for _, s := range wt.pending {
		d = max(d, now.Sub(s.committed))
	}
	return d
}

func (wt *watcher) run(stop <-chan struct{}) {
	var rw *bufio.ReadWriter
	var conn net.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		wt.mu.Lock()
		batch := append([]sample(nil), wt.pending...)
		wt.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		if conn == nil {
			c, err := net.DialTimeout("tcp", wt.addr, time.Second)
			if err != nil {
				continue
			}
			conn, rw = c, bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))
		}
		keys := make([]string, 0, len(batch))
		for _, s := range batch {
			keys = append(keys, s.key)
		}
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		vals, err := cluster.ClassicGetMulti(rw, keys...)
		now := time.Now()
		if err != nil {
			conn.Close()
			conn = nil
			continue
		}
		done := map[sample]bool{}
		for _, s := range batch {
			v, ok := vals[s.key]
			if !ok || version(v) >= s.version {
				wt.st.Add(now.Sub(s.committed))
				done[s] = true
			}
		}
		wt.mu.Lock()
		kept := wt.pending[:0]
		for _, s := range wt.pending {
			if !done[s] {
				kept = append(kept, s)
			}
		}
		wt.pending = kept
		wt.mu.Unlock()
	}
}

// version parses "id|version"; anything else counts as newer (not ours).
func version(v string) int {
	_, ver, ok := strings.Cut(v, "|")
	n, err := strconv.Atoi(ver)
	if !ok || err != nil {
		return 1 << 30
	}
	return n
}
