package invalidation

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

// canary is a key no rule owns: it goes only when the region is flushed.
const canary = "canary:flush"

// findLog finds a log line of the process at level whose message contains
// msg and whose text contains every one of also; it returns the line.
func findLog(logs, level, msg string, also ...string) (string, error) {
	for _, l := range strings.Split(logs, "\n") {
		var e struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal([]byte(l), &e) != nil || e.Level != level || !strings.Contains(e.Msg, msg) {
			continue
		}
		ok := true
		for _, a := range also {
			ok = ok && strings.Contains(l, a)
		}
		if ok {
			return l, nil
		}
	}
	return "", fmt.Errorf("no %s log line %q with %q", level, msg, also)
}

// waitLog waits for such a line.
func waitLog(t *testing.T, sc *fleet.Sidecar, level, msg string, also ...string) string {
	t.Helper()
	var line string
	cluster.Eventually(t, 30*time.Second, func() error {
		var err error
		line, err = findLog(sc.Logs(), level, msg, also...)
		return err
	})
	return line
}

// countLogs counts the lines of a level whose message contains msg.
func countLogs(logs, level, msg string) int {
	n := 0
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"level":"`+level+`"`) && strings.Contains(l, msg) {
			n++
		}
	}
	return n
}

// metric reads one sample of the sidecar's /metrics.
func metric(sc *fleet.Sidecar, name string) (string, error) {
	body, code, err := cluster.HTTPGet("http://" + sc.Config.HTTPListen + "/metrics")
	if err != nil || code != 200 {
		return "", fmt.Errorf("metrics: %d %v", code, err)
	}
	for _, l := range strings.Split(string(body), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == name {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("no metric %s", name)
}

func (e *env) waitFlushed(t *testing.T, mc *cluster.KeyClient) {
	t.Helper()
	cluster.Eventually(t, 30*time.Second, func() error {
		st, err := mc.States([]string{canary})
		if err != nil {
			return err
		}
		if st[0] != cluster.KeyMissing {
			return fmt.Errorf("canary is %s: the region was not flushed", st[0])
		}
		return nil
	})
}

const eventsDDL = `CREATE TABLE events (id int, day date, name text NOT NULL, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
	CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
	CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
	ALTER TABLE events REPLICA IDENTITY FULL;
	ALTER TABLE events_2024 REPLICA IDENTITY FULL;
	ALTER TABLE events_2025 REPLICA IDENTITY FULL`

var eventKeys = map[string][]string{"public.events": {"event:{id}", "event_by_name:{name}"}}

// A partitioned table configured by its parent: the publication publishes
// via the root, changes in every partition (one attached while running
// too) invalidate their keys, old and new, and a restart does not loop on
// the publication's membership.
func TestPartitionedTableViaRoot(t *testing.T) {
	e := newEnv(t)
	e.exec(t, eventsDDL)
	e.exec(t, `INSERT INTO events VALUES (1, '2024-03-01', 'a'), (2, '2025-03-01', 'b')`)
	sc := fleet.StartSidecar(t, e.sidecar("stale", eventKeys))
	if v := e.pg.QueryString(t, db, `SELECT pubviaroot::text FROM pg_publication WHERE pubname = $1`, publication); v != "true" {
		t.Fatalf("publication created with pubviaroot = %s", v)
	}
	mc := cluster.DialKeys(t, e.mc.Addr())
	step := func(name, sql string, want, valid []string) {
		t.Helper()
		mc.SetAll(t, append(append([]string{}, want...), valid...))
		e.exec(t, sql)
		end := e.insertLSN(t)
		cluster.Eventually(t, 30*time.Second, func() error { return mc.AllInvalidated(want) })
		e.waitConfirmed(t, end, 30*time.Second)
		mc.RequireValid(t, valid)
	}
	step("update in one partition", `UPDATE events SET name = 'a2' WHERE id = 1`,
		[]string{"event:1", "event_by_name:a", "event_by_name:a2"}, []string{"event:2", "event_by_name:b"})
	step("delete in the other", `DELETE FROM events WHERE id = 2`,
		[]string{"event:2", "event_by_name:b"}, []string{"event:1", "event_by_name:a2"})
	step("row moved between partitions", `UPDATE events SET day = '2025-06-01', name = 'a3' WHERE id = 1`,
		[]string{"event:1", "event_by_name:a2", "event_by_name:a3"}, nil)

	// A partition attached while running, without the identity the
	// templates need: reported with its fix, and its rows' changes are the
	// parent's.
	e.exec(t, `CREATE TABLE events_2026 (id int NOT NULL, day date NOT NULL, name text NOT NULL, PRIMARY KEY (id, day));
		ALTER TABLE events ATTACH PARTITION events_2026 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')`)
	waitLog(t, sc, "error", "configured table cannot be invalidated", "ALTER TABLE public.events_2026 REPLICA IDENTITY FULL;")
	if l, err := findLog(sc.Logs(), "error", "configured table cannot be invalidated", "ALTER TABLE public.events_2024"); err == nil {
		t.Fatalf("the fix names a partition that needs none: %s", l)
	}
	cluster.Eventually(t, 30*time.Second, func() error {
		st, err := sc.Status()
		if err != nil {
			return err
		}
		for _, p := range st.Problems {
			if strings.Contains(p, "events_2026") {
				return nil
			}
		}
		return fmt.Errorf("status problems %q do not name events_2026", st.Problems)
	})
	step("insert into the attached partition", `INSERT INTO events VALUES (3, '2026-02-01', 'c')`,
		[]string{"event:3", "event_by_name:c"}, []string{"event:1", "event_by_name:a3"})
	e.exec(t, `ALTER TABLE events_2026 REPLICA IDENTITY FULL`)
	waitLog(t, sc, "info", "configured table problem resolved", "public.events")
	step("update in the attached partition", `UPDATE events SET name = 'c2' WHERE id = 3`,
		[]string{"event:3", "event_by_name:c", "event_by_name:c2"}, []string{"event:1", "event_by_name:a3"})

	// A detached partition is a table of its own: logged, and its changes
	// are no longer the parent's.
	e.exec(t, `ALTER TABLE events DETACH PARTITION events_2024`)
	waitLog(t, sc, "info", "partition detached", "public.events_2024")

	// A restart finds the parent in the publication (it used to loop on
	// `relation "events" is already member of publication`).
	sc.Kill()
	sc = sc.Relaunch(t)
	sc.WaitReady(t, 60*time.Second)
	step("after a restart", `UPDATE events SET name = 'a4' WHERE id = 1`,
		[]string{"event:1", "event_by_name:a3", "event_by_name:a4"}, []string{"event:3", "event_by_name:c2"})
	if n := countLogs(sc.Logs(), "warn", "already member"); n != 0 {
		t.Fatalf("%d lines about membership after the restart", n)
	}
}

// A leaf with DEFAULT identity under a FULL parent: refused at start with
// the fix for that leaf (ALTER TABLE on the parent does not reach it).
func TestPartitionLeafIdentityRefused(t *testing.T) {
	e := newEnv(t)
	e.exec(t, eventsDDL)
	e.exec(t, `ALTER TABLE events_2025 REPLICA IDENTITY DEFAULT`)
	tables := "  public.events:\n    keys: [\"event_by_name:{name}\"]"
	code, stderr := runSidecar(t, configText(e.pg.DSN(db), "  servers: ["+e.mc.Addr()+"]", tables))
	if code == 0 {
		t.Fatalf("sidecar started with partition events_2025 at REPLICA IDENTITY DEFAULT:\n%s", stderr)
	}
	for _, want := range []string{"table public.events", "partition public.events_2025: REPLICA IDENTITY DEFAULT carries id, day",
		"ALTER TABLE public.events_2025 REPLICA IDENTITY FULL;"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("refusal lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "ALTER TABLE public.events_2024") || strings.Contains(stderr, "ALTER TABLE public.events ") {
		t.Errorf("refusal's fix names tables that need none:\n%s", stderr)
	}
}

// An existing publication that publishes partitions under their own names:
// the sidecar switches it to publish via the root and, since the changes
// before the switch arrive under the partitions' names, every region
// flushes at the switch; the changes after it are invalidated by key.
func TestExistingPublicationWithoutViaRoot(t *testing.T) {
	e := newEnv(t)
	e.exec(t, eventsDDL)
	e.exec(t, `INSERT INTO events VALUES (1, '2024-03-01', 'a')`)
	e.createSlot(t, "events")
	mc := cluster.DialKeys(t, e.mc.Addr())
	mc.SetAll(t, []string{canary, "event:1", "event_by_name:a"})
	// In the slot's WAL, under the partition's name.
	e.exec(t, `UPDATE events SET name = 'a2' WHERE id = 1`)
	sc := fleet.StartSidecar(t, e.sidecar("stale", eventKeys))
	waitLog(t, sc, "error", "flushing every memcached server", "switched to publish_via_partition_root = true")
	e.waitFlushed(t, mc)
	if v := e.pg.QueryString(t, db, `SELECT pubviaroot::text FROM pg_publication WHERE pubname = $1`, publication); v != "true" {
		t.Fatalf("pubviaroot = %s", v)
	}
	mc.SetAll(t, []string{"event:1", "event_by_name:a2", "event_by_name:a3", "event:9"})
	e.exec(t, `UPDATE events SET name = 'a3' WHERE id = 1`)
	end := e.insertLSN(t)
	cluster.Eventually(t, 30*time.Second, func() error {
		return mc.AllInvalidated([]string{"event:1", "event_by_name:a2", "event_by_name:a3"})
	})
	e.waitConfirmed(t, end, 30*time.Second)
	mc.RequireValid(t, []string{"event:9"})
}

// A configured table dropped and re-created while running leaves the
// publication: detected, added again, the region flushed (its changes in
// between were never streamed), loudly; its later changes are invalidated.
// A restart that finds it missing does the same.
func TestRecreatedTableReaddedAndFlushed(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE items (id int PRIMARY KEY, v int)`)
	items := map[string][]string{"public.items": {"item:{id}"}}
	sc := fleet.StartSidecar(t, e.sidecar("stale", items))
	mc := cluster.DialKeys(t, e.mc.Addr())
	mc.SetAll(t, []string{canary, "item:1"})
	e.exec(t, `DROP TABLE items`)
	e.exec(t, `CREATE TABLE items (id int PRIMARY KEY, v int); INSERT INTO items VALUES (1, 1)`)
	waitLog(t, sc, "error", "had left the publication", "public.items")
	line := waitLog(t, sc, "error", "flushing every memcached server", "public.items not in publication")
	if strings.Contains(line, "stacktrace") {
		t.Fatalf("an expected condition logged with a stack trace: %s", line)
	}
	e.waitFlushed(t, mc)
	if v, err := metric(sc, "cachesync_publication_flushes_total"); err != nil || v != "1" {
		t.Fatalf("cachesync_publication_flushes_total = %s (%v)", v, err)
	}
	mc.SetAll(t, []string{"item:1", "item:2"})
	e.exec(t, `UPDATE items SET v = 2 WHERE id = 1`)
	end := e.insertLSN(t)
	cluster.Eventually(t, 30*time.Second, func() error { return mc.AllInvalidated([]string{"item:1"}) })
	e.waitConfirmed(t, end, 30*time.Second)
	mc.RequireValid(t, []string{"item:2"})

	// Stopped, dropped and re-created, restarted: re-added and flushed
	// before anything after it is acknowledged.
	if err := sc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := sc.Wait(30 * time.Second); err != nil {
		t.Fatalf("sidecar on SIGTERM: %v", err)
	}
	e.exec(t, `DROP TABLE items; CREATE TABLE items (id int PRIMARY KEY, v int); INSERT INTO items VALUES (1, 3)`)
	mc.SetAll(t, []string{canary, "item:1"})
	sc = sc.Relaunch(t)
	sc.WaitReady(t, 60*time.Second)
	e.waitFlushed(t, mc)
	waitLog(t, sc, "error", "flushing every memcached server", "public.items not in publication")
}

// A key column whose type changes: warned once, naming table, column and
// both types, and counted; the keys rendered from the new text are
// invalidated.
func TestKeyColumnTypeChange(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE ua (id int PRIMARY KEY, v int); INSERT INTO ua VALUES (27, 0)`)
	sc := fleet.StartSidecar(t, e.sidecar("stale", map[string][]string{"public.ua": {"ua:{id}"}}))
	mc := cluster.DialKeys(t, e.mc.Addr())
	mc.SetAll(t, []string{"ua:27", "ua:27.0"})
	e.exec(t, `UPDATE ua SET v = 1`)
	cluster.Eventually(t, 30*time.Second, func() error { return mc.AllInvalidated([]string{"ua:27"}) })
	e.exec(t, `ALTER TABLE ua ALTER COLUMN id TYPE numeric(6,1)`)
	e.exec(t, `UPDATE ua SET v = 2`)
	cluster.Eventually(t, 30*time.Second, func() error { return mc.AllInvalidated([]string{"ua:27.0"}) })
	line := waitLog(t, sc, "warn", "key column changed type", `"table":"public.ua"`, `"column":"id"`,
		`"old_type":"int4"`, `"new_type":"numeric(6,1)"`)
	if !strings.Contains(line, "key text may change") {
		t.Fatalf("warning does not say the key text may change: %s", line)
	}
	e.exec(t, `UPDATE ua SET v = 3`)
	end := e.insertLSN(t)
	e.waitConfirmed(t, end, 30*time.Second)
	if n := countLogs(sc.Logs(), "warn", "key column changed type"); n != 1 {
		t.Fatalf("%d warnings for one type change", n)
	}
	if v, err := metric(sc, "cachesync_key_column_type_changes_total"); err != nil || v != "1" {
		t.Fatalf("cachesync_key_column_type_changes_total = %s (%v)", v, err)
	}
}

// A table name that needs quoting, and a partition configured by its own
// name, end to end.
func TestQuotedNameAndPartitionByOwnName(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE "my-table" (id int PRIMARY KEY, v int);
		CREATE TABLE logs (id int, day date, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
		CREATE TABLE logs_2024 PARTITION OF logs FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
		CREATE TABLE logs_2025 PARTITION OF logs FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`)
	sc := fleet.StartSidecar(t, e.sidecar("stale", map[string][]string{
		`public."my-table"`: {"my:{id}"},
		"public.logs_2024":  {"log:{id}"},
	}))
	mc := cluster.DialKeys(t, e.mc.Addr())
	mc.SetAll(t, []string{"my:1", "my:2", "log:1", "log:2"})
	e.exec(t, `INSERT INTO "my-table" VALUES (1, 0); INSERT INTO logs VALUES (1, '2024-05-01'), (2, '2025-05-01')`)
	end := e.insertLSN(t)
	cluster.Eventually(t, 30*time.Second, func() error { return mc.AllInvalidated([]string{"my:1", "log:1"}) })
	e.waitConfirmed(t, end, 30*time.Second)
	// logs_2025 is not configured.
	mc.RequireValid(t, []string{"my:2", "log:2"})
	if n := e.pg.QueryString(t, db, `SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables WHERE pubname = $1`, publication); n != "logs_2024,my-table" {
		t.Fatalf("publication publishes %s", n)
	}
	if _, err := sc.Status(); err != nil {
		t.Fatal(err)
	}
}
