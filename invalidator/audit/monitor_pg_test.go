package audit

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cachesync/cachesync/invalidator"
	"github.com/cachesync/cachesync/replication"
	"github.com/cachesync/cachesync/test/cluster"
)

// bothAcker is what the sidecar's acker does: the stream may confirm, and
// the monitor learns what was delivered.
type bothAcker struct {
	stream *replication.Stream
	mon    *Monitor
}

func (a *bothAcker) Ack(end replication.LSN) {
	a.stream.Ack(end)
	a.mon.Delivered(end)
}

// TestMonitorFindsStaleRefills runs the monitor as the sidecar does, on a
// real primary, memcached, stream and invalidator: 200 changed rows are
// refilled with their new value and 20 with their old one (a set that
// bypassed leases, made after the invalidation). Every one of the 20 is
// found and nothing else is.
func TestMonitorFindsStaleRefills(t *testing.T) {
	const good, bad = 200, 20
	pg := cluster.StartPostgres(t)
	pg.CreateDB(t, "app")
	pg.ExecDB(t, "app", "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)")
	pg.ExecDB(t, "app", "INSERT INTO users SELECT g, 'v0' FROM generate_series(1, $1::int) g", good+bad)
	mc := cluster.StartMemcached(t)
	keys := cluster.KeyRange("user:", 1, good+bad)
	kc := cluster.DialKeys(t, mc.Addr())
	setValues(t, mc.Addr(), keys, func(id int) string { return fmt.Sprintf("%d|v0", id) })

	reg := prometheus.NewRegistry()
	mcfg := DefaultMonitorConfig()
	mcfg.Region, mcfg.Source = "test", "main"
	mcfg.DSN, mcfg.Servers = pg.DSN("app"), []string{mc.Addr()}
	mcfg.Tables = map[string]MonitorTable{"public.users": {Keys: []string{"user:{id}"}, Value: "{id}|{name}"}}
	mcfg.Sample, mcfg.After, mcfg.Recent = 1, 2*time.Second, 2*bad
	mcfg.Registerer = reg
	mon, err := NewMonitor(mcfg)
	if err != nil {
		t.Fatal(err)
	}
	acker := &bothAcker{mon: mon}
	icfg := invalidator.DefaultConfig()
	icfg.Tables = map[string]invalidator.TableRule{"public.users": {Keys: []string{"user:{id}"}}}
	icfg.Servers, icfg.Acker, icfg.Sampler = []string{mc.Addr()}, acker, mon
	inv, err := invalidator.New(icfg)
	if err != nil {
		t.Fatal(err)
	}
	rcfg := replication.DefaultConfig()
	rcfg.DSN, rcfg.Slot, rcfg.Publication, rcfg.Tables = pg.DSN("app"), "monitor_test", "monitor_test", inv.Tables()
	stream, err := replication.NewStream(rcfg, inv)
	if err != nil {
		t.Fatal(err)
	}
	acker.stream = stream
	// Heartbeats are transactions, so the delivered position keeps moving
	// on an idle database, as in the sidecar.
	beats := replication.NewHeartbeater(replication.HeartbeatConfig{DSN: pg.DSN("app"), Node: "test", Interval: 200 * time.Millisecond})
	runAll(t, mon.Run, inv.Run, stream.Run, beats.Run)
	cluster.Eventually(t, 60*time.Second, func() error {
		if !stream.Status().Streaming {
			return fmt.Errorf("not streaming yet")
		}
		return nil
	})

	pg.ExecDB(t, "app", "UPDATE users SET name = 'v1'")
	cluster.Eventually(t, 30*time.Second, func() error { return kc.AllInvalidated(keys) })
	// The first 200 are refilled from the database, the last 20 with what
	// a reader read before the change.
	setValues(t, mc.Addr(), keys, func(id int) string {
		if id > good {
			return fmt.Sprintf("%d|v0", id)
		}
		return fmt.Sprintf("%d|v1", id)
	})

	var s MonitorStats
	cluster.Eventually(t, 60*time.Second, func() error {
		if s = mon.Stats(); s.Checked < good+bad || s.Inconsistent < bad-1 {
			return fmt.Errorf("checked %d, inconsistent %d", s.Checked, s.Inconsistent)
		}
		return nil
	})
	t.Logf("stats: checked %d, inconsistent %d, unconfirmed %d, skipped %d, dropped %d, errors %d",
		s.Checked, s.Inconsistent, s.Unconfirmed, s.Skipped, s.Dropped, s.Errors)
	if s.Inconsistent > bad {
		t.Errorf("%d inconsistent, only %d were refilled stale", s.Inconsistent, bad)
	}
	for _, r := range s.Recent {
		var id int
		fmt.Sscanf(r.Key, "user:%d", &id)
		if id <= good || r.Cached != fmt.Sprintf("%d|v0", id) || r.Database != fmt.Sprintf("%d|v1", id) {
			t.Errorf("false positive or wrong report: %+v", r)
		}
	}
	if len(s.Recent) != int(s.Inconsistent) {
		t.Errorf("%d recent keys for %d inconsistent", len(s.Recent), s.Inconsistent)
	}
	if s.PresenceChecked != 0 || s.Dropped != 0 || s.Errors != 0 {
		t.Errorf("stats %+v", s)
	}
	// /metrics says the same.
	for name, want := range map[string]uint64{
		"cachesync_consistency_checked_total":      s.Checked,
		"cachesync_consistency_inconsistent_total": s.Inconsistent,
	} {
		got := metricValue(t, reg, name, "value")
		if uint64(got) < want {
			t.Errorf("%s{kind=value} = %v, want at least %d", name, got, want)
		}
	}
}

// setValues stores value(id) under keys[id-1], as a reader talking to
// memcached directly would: no lease.
func setValues(t *testing.T, addr string, keys []string, value func(id int) string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := bufio.NewWriter(c)
	for i, k := range keys {
		v := value(i + 1)
		fmt.Fprintf(w, "set %s 0 0 %d noreply\r\n%s\r\n", k, len(v), v)
	}
	w.WriteString("mn\r\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "MN\r\n" {
		t.Fatalf("set: %q %v", line, err)
	}
}

// runAll runs each function until the test ends, then stops them and
// checks that they returned cleanly.
func runAll(t *testing.T, fns ...func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make([]error, len(fns))
	for i, f := range fns {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
}

func metricValue(t *testing.T, reg *prometheus.Registry, name, kind string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("%s{kind=%q} not exported", name, kind)
	return 0
}

// TestPGRowsLooksUpByIdentity: the monitor finds a row by its primary key
// (composite, in index order), by its replica identity index when it has no
// primary key, and refuses a table with neither instead of guessing.
func TestPGRowsLooksUpByIdentity(t *testing.T) {
	pg := cluster.StartPostgres(t)
	pg.CreateDB(t, "app")
	pg.ExecDB(t, "app", "CREATE TABLE pairs (b int, a text, v text, PRIMARY KEY (a, b))")
	pg.ExecDB(t, "app", "INSERT INTO pairs VALUES (1, 'x y', 'one'), (2, 'x y', NULL)")
	pg.ExecDB(t, "app", "CREATE TABLE named (name text NOT NULL, v text)")
	pg.ExecDB(t, "app", "CREATE UNIQUE INDEX named_name ON named (name)")
	pg.ExecDB(t, "app", "ALTER TABLE named REPLICA IDENTITY USING INDEX named_name")
	pg.ExecDB(t, "app", "INSERT INTO named VALUES ('ann', 'a')")
	pg.ExecDB(t, "app", "CREATE TABLE heap (v text)")
	p := newPGRows(pg.DSN("app"), 5*time.Second)
	defer p.close()
	ctx := context.Background()

	id, row, found, err := p.row(ctx, "public.pairs", map[string]string{"a": "x y", "b": "2", "v": "ignored"})
	if err != nil || !found || row["v"] != "" || len(row) != 2 || len(id) != 2 || id["a"] != "x y" {
		t.Fatalf("pairs (x y, 2): id %v row %v found %v err %v", id, row, found, err)
	}
	if _, _, found, err := p.row(ctx, "public.pairs", map[string]string{"a": "x y", "b": "3"}); err != nil || found {
		t.Fatalf("pairs (x y, 3): found %v err %v", found, err)
	}
	if _, _, _, err := p.row(ctx, "public.pairs", map[string]string{"a": "x y"}); err != errNoIdentity {
		t.Fatalf("pairs without b: err %v, want errNoIdentity", err)
	}
	if _, row, found, err := p.row(ctx, "public.named", map[string]string{"name": "ann"}); err != nil || !found || row["v"] != "a" {
		t.Fatalf("named ann: row %v found %v err %v", row, found, err)
	}
	if _, _, _, err := p.row(ctx, "public.heap", map[string]string{"v": "x"}); err != errNoIdentity {
		t.Fatalf("heap: err %v, want errNoIdentity", err)
	}
}
