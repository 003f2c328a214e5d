package replication

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
)

func TestReconnectAfterPrimaryRestartReplaysUnacked(t *testing.T) {
	t.Parallel()
	p := startPG(t)
	h := &recorder{ackPolicy: func(c Commit, txn []string) bool {
		return len(txn) == 0 || !strings.Contains(txn[0], "(2,")
	}}
	r := startStream(t, p, "restart", h, nil)
	waitStreaming(t, r)
	p.Exec(t, `INSERT INTO users VALUES (1, 'a', NULL)`)
	p.Exec(t, `INSERT INTO users VALUES (2, 'b', NULL)`) // never acked before the crash
	cluster.Eventually(t, wait, func() error { return h.has("INSERT public.users new=(2,b,NULL)") })
	_, first, _ := h.snapshot()
	cluster.Eventually(t, wait, func() error {
		if l := slotLSN(t, p, "restart"); l != first[0].EndLSN {
			return errors.New("first transaction not confirmed yet: " + l.String())
		}
		return nil
	})
	// A lost connection (server up): exactly the unacked transaction comes again.
	p.Exec(t, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'restart'`)
	cluster.Eventually(t, wait, func() error { return count(h, "new=(2,b,NULL)", 2) })
	if err := count(h, "new=(1,a,NULL)", 1); err != nil {
		t.Fatal(err)
	}
	// A crash of the primary: the stream comes back by itself. PostgreSQL 15
	// does not persist confirmed_flush_lsn alone, so a crash may replay
	// confirmed transactions too (at-least-once).
	p.Kill(t)
	cluster.Eventually(t, wait, func() error {
		if r.s.Status().Streaming {
			return errors.New("still streaming")
		}
		return nil
	})
	p.Start(t)
	p.Exec(t, `INSERT INTO users VALUES (3, 'c', NULL)`)
	cluster.Eventually(t, wait, func() error { return h.has("INSERT public.users new=(3,c,NULL)") })
	cluster.Eventually(t, wait, func() error { return count(h, "new=(2,b,NULL)", 3) })
	if st := r.s.Status(); !st.Streaming || st.Connected.IsZero() {
		t.Fatalf("status after reconnect: %+v", st)
	}
}

func count(h *recorder, sub string, want int) error {
	ev, _, _ := h.snapshot()
	n := 0
	for _, e := range ev {
		n += strings.Count(e, sub)
	}
	if n != want {
		return fmt.Errorf("%q seen %d times, want %d", sub, n, want)
	}
	return nil
}

func TestSecondStreamIsStandbyAndTakesOver(t *testing.T) {
	t.Parallel()
	p := startPG(t)
	h1, h2 := &recorder{}, &recorder{}
	var created atomic.Int32
	onNew := func(c *Config) {
		c.OnNewSlot = func(context.Context, string) error { created.Add(1); return nil }
	}
	r1 := startStream(t, p, "shared", h1, onNew)
	waitStreaming(t, r1)
	r2 := startStream(t, p, "shared", h2, onNew)
	cluster.Eventually(t, wait, func() error {
		if !r2.s.Status().Standby {
			return errors.New("second stream not standby: " + r2.s.Status().LastError)
		}
		return nil
	})
	p.Exec(t, `INSERT INTO users VALUES (1, 'a', NULL)`)
	cluster.Eventually(t, wait, func() error { return h1.has("INSERT public.users new=(1,a,NULL)") })
	if err := r1.stop(); err != nil {
		t.Fatal(err)
	}
	waitStreaming(t, r2)
	if r2.s.Status().Standby {
		t.Fatal("streaming and standby at once")
	}
	p.Exec(t, `INSERT INTO users VALUES (2, 'b', NULL)`)
	cluster.Eventually(t, wait, func() error { return h2.has("INSERT public.users new=(2,b,NULL)") })
	if created.Load() != 1 {
		t.Fatalf("OnNewSlot called %d times for one slot", created.Load())
	}
}

func runUntilError(t *testing.T, p *cluster.Postgres, slot string) error {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DSN, cfg.Slot, cfg.Publication, cfg.Tables = p.DSN("postgres"), slot, "pub", []Table{{Schema: "public", Name: "users"}}
	s, err := NewStream(cfg, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return s.Run(ctx)
}

func TestRefusesWALLevelReplica(t *testing.T) {
	t.Parallel()
	p := startPG(t, cluster.WithPGConf("wal_level", "replica"))
	err := runUntilError(t, p, "s")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "wal_level = logical") {
		t.Fatalf("Run: %v", err)
	}
}

func TestRefusesSlotWithOtherPlugin(t *testing.T) {
	t.Parallel()
	p := startPG(t)
	p.Exec(t, `SELECT pg_create_logical_replication_slot('td', 'test_decoding')`)
	err := runUntilError(t, p, "td")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), `"test_decoding"`) {
		t.Fatalf("Run: %v", err)
	}
}

func TestDroppedAndFailedNewSlotsAreAnnounced(t *testing.T) {
	t.Parallel()
	p := startPG(t)
	var reasons []string
	fail := true
	h := &recorder{}
	edit := func(c *Config) {
		c.OnNewSlot = func(ctx context.Context, reason string) error {
			reasons = append(reasons, reason) // Run calls it from one goroutine
			if fail {
				fail = false
				return errors.New("flush failed")
			}
			return nil
		}
	}
	r := startStream(t, p, "dropme", h, edit)
	waitStreaming(t, r)
	if len(reasons) != 2 {
		t.Fatalf("a failed OnNewSlot must be retried: %v", reasons)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	cluster.Eventually(t, wait, func() error {
		if p.QueryString(t, "postgres", `SELECT active::text FROM pg_replication_slots WHERE slot_name = 'dropme'`) != "false" {
			return errors.New("slot still active")
		}
		return nil
	})
	p.Exec(t, `SELECT pg_drop_replication_slot('dropme')`)
	p.Exec(t, `INSERT INTO users VALUES (1, 'lost', NULL)`) // made while no slot existed
	r2 := startStream(t, p, "dropme", &recorder{}, edit)
	waitStreaming(t, r2)
	if len(reasons) != 3 || !strings.Contains(reasons[2], "did not exist") {
		t.Fatalf("reasons: %q", reasons)
	}
}

func TestLostSlotIsRecreatedAndAnnounced(t *testing.T) {
	t.Parallel()
	p := startPG(t, cluster.WithPGConf("max_slot_wal_keep_size", "'1MB'"), cluster.WithPGConf("wal_keep_size", "0"))
	var reasons atomic.Value
	edit := func(c *Config) {
		c.OnNewSlot = func(ctx context.Context, reason string) error { reasons.Store(reason); return nil }
	}
	r := startStream(t, p, "lossy", &recorder{}, edit)
	waitStreaming(t, r)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	cluster.Eventually(t, wait, func() error {
		for range 3 {
			p.Exec(t, `INSERT INTO other SELECT generate_series(1, 100)`)
			p.Exec(t, `SELECT pg_switch_wal()`)
		}
		p.Exec(t, `CHECKPOINT`)
		if st := p.QueryString(t, "postgres", `SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'lossy'`); st != "lost" {
			return errors.New("wal_status " + st)
		}
		return nil
	})
	r2 := startStream(t, p, "lossy", &recorder{}, edit)
	waitStreaming(t, r2)
	if got, _ := reasons.Load().(string); !strings.Contains(got, "lost") {
		t.Fatalf("reason %q", got)
	}
	if st := p.QueryString(t, "postgres", `SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'lossy'`); st == "lost" {
		t.Fatal("slot still lost")
	}
}

func TestHeartbeatRoundTrip(t *testing.T) {
	t.Parallel()
	p := startPG(t)
	h := &recorder{}
	r := startStream(t, p, "hb", h, nil)
	waitStreaming(t, r)
	cfg := DefaultHeartbeatConfig()
	cfg.DSN, cfg.Node = p.DSN("postgres"), "west-1"
	hb := NewHeartbeater(cfg)
	defer hb.Close()
	before := time.Now()
	if err := hb.Beat(context.Background()); err != nil {
		t.Fatal(err)
	}
	cluster.Eventually(t, wait, func() error { return h.has("COMMIT") })
	ev, _, _ := h.snapshot()
	if got := strings.Join(ev, ","); got != "BEGIN,MSG "+HeartbeatPrefix+" true,COMMIT" {
		t.Fatalf("events %s", got)
	}
	h.mu.Lock()
	m := h.messages[0]
	h.mu.Unlock()
	node, sent, ok := ParseHeartbeat(m.Content)
	if !ok || node != "west-1" || sent.Before(before.Add(-time.Second)) || m.LSN == 0 {
		t.Fatalf("heartbeat %q: %q %v %v", m.Content, node, sent, ok)
	}
	// Run emits repeatedly and returns on cancel.
	cfg.Interval = 20 * time.Millisecond
	hb2 := NewHeartbeater(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hb2.Run(ctx) }()
	cluster.Eventually(t, wait, func() error {
		h.mu.Lock()
		n := len(h.messages)
		h.mu.Unlock()
		if n < 4 {
			return errors.New("few heartbeats")
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestMonitorReportsRetainedWAL(t *testing.T) {
	t.Parallel()
	p := startPG(t)
	h := &recorder{ackPolicy: func(Commit, []string) bool { return false }}
	r := startStream(t, p, "mon", h, nil)
	waitStreaming(t, r)
	m := NewMonitor(MonitorConfig{DSN: p.DSN("postgres"), Slot: "mon", WarnBytes: 1 << 20})
	defer m.Close()
	p.Exec(t, `INSERT INTO users SELECT g, repeat('x', 100), NULL FROM generate_series(1, 20000) g`)
	cluster.Eventually(t, wait, func() error {
		m.poll(context.Background())
		st := m.Status()
		if st.Err != "" {
			return errors.New(st.Err)
		}
		if !st.Exists || !st.Active || st.RetainedBytes < 1<<20 || st.LagBytes < 1<<20 || !st.Warn || st.PrimaryLSN == 0 {
			return errors.New("not yet reported")
		}
		return nil
	})
	missing := NewMonitor(MonitorConfig{DSN: p.DSN("postgres"), Slot: "nope"})
	defer missing.Close()
	missing.poll(context.Background())
	if st := missing.Status(); st.Exists || st.Err != "" || st.PrimaryLSN == 0 || st.Warn {
		t.Fatalf("missing slot: %+v", st)
	}
}
