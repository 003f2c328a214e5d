package invalidator

import (
	"errors"
	"testing"
	"time"

	"github.com/cachesync/cachesync/replication"
	"github.com/cachesync/cachesync/test/cluster"
	"github.com/prometheus/client_golang/prometheus"
)

// With a gate, transactions queued behind a held batch are sealed into
// batches at commit boundaries spanning GateQuantum, so an early commit is
// not gated on a much later one.
func TestGateQuantumSealsAtCommit(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	cfg := testConfig()
	cfg.Gate = g
	cfg.BatchDelay = 200 * time.Millisecond
	h := startHarness(t, cfg)
	t0 := time.Now()
	send := func(final replication.LSN, at time.Duration) {
		ctx := h.ctx
		_ = h.inv.Begin(ctx, replication.Begin{FinalLSN: final, Xid: uint32(final), CommitTime: t0.Add(at)})
		_ = h.inv.Change(ctx, insert(final.String(), "n"))
		_ = h.inv.Commit(ctx, replication.Commit{CommitLSN: final, EndLSN: final + 1, CommitTime: t0.Add(at)})
	}
	send(10, 0)
	cluster.Eventually(t, 5*time.Second, func() error {
		if len(g.seen()) == 0 {
			return errors.New("first batch not gated yet")
		}
		return nil
	})
	send(20, 1*time.Millisecond)
	send(30, 3*time.Millisecond)
	send(40, 20*time.Millisecond)
	send(50, 21*time.Millisecond)
	close(g.open)
	waitAck(t, h.ack, 51)
	var commits []replication.LSN
	for _, p := range g.seen() {
		commits = append(commits, p.Commit)
	}
	want := []replication.LSN{10, 40, 50}
	if len(commits) != len(want) || commits[0] != want[0] || commits[1] != want[1] || commits[2] != want[2] {
		t.Fatalf("gated commits %v, want %v", commits, want)
	}
}

func TestMetricsRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := testConfig()
	cfg.Registerer = reg
	h := startHarness(t, cfg)
	if _, err := New(cfg); err == nil {
		t.Fatal("registering the same metrics twice must fail")
	}
	h.tx(10, 11, insert("1", "a"))
	waitAck(t, h.ack, 11)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, n := range []string{"cachesync_invalidations_total", "cachesync_invalidation_queue_keys",
		"cachesync_key_errors_total", "cachesync_memcached_up", "cachesync_truncates_total", "cachesync_delivery_seconds"} {
		if !names[n] {
			t.Errorf("metric %s missing (have %v)", n, names)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"no servers":    func(c *Config) { c.Servers = nil },
		"mode":          func(c *Config) { c.Mode = "evict" },
		"hash":          func(c *Config) { c.Hash = "md5" },
		"truncate":      func(c *Config) { c.Tables["x"] = TableRule{Keys: []string{"x:{id}"}, Truncate: "ignore"} },
		"template":      func(c *Config) { c.Tables["x"] = TableRule{Keys: []string{"x:{id"}} },
		"no keys":       func(c *Config) { c.Tables["x"] = TableRule{} },
		"duplicate":     func(c *Config) { c.Tables["users"] = TableRule{Keys: []string{"u:{id}"}} },
		"zero batching": func(c *Config) { c.BatchSize = 0 },
	} {
		cfg := testConfig()
		mod(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
