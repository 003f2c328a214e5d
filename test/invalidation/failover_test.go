package invalidation

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

// TestFailoverToLaggingReplica is issue 10's failover: the source is a
// multi-host DSN (primary P, replica R, target_session_attrs=read-write);
// R falls behind while the sidecar confirms P's positions; P dies and R is
// promoted. The sidecar follows onto R, logs the failover naming both
// histories and flushes. Then, while memcached is unreachable, rows change
// on R and the sidecar is SIGKILLed: the new process must invalidate every
// one of them, which it can only do if nothing beyond R's WAL was ever
// confirmed on R's slot.
func TestFailoverToLaggingReplica(t *testing.T) {
	const rows = 100
	p := cluster.StartPostgres(t)
	p.CreateDB(t, db)
	p.ExecDB(t, db, "CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL)")
	p.ExecDB(t, db, "INSERT INTO items SELECT g, 0 FROM generate_series(1, $1::int) g", rows)
	r := p.StartReplica(t)
	mc := cluster.StartMemcached(t)
	toMC := cluster.NewTCPProxy(t, mc.Addr())
	kc := cluster.DialKeys(t, mc.Addr())
	keys := cluster.KeyRange("item:", 1, rows)

	cfg := fleet.SidecarConfig{
		Source:         fmt.Sprintf("postgres://postgres@%s,%s/%s?sslmode=disable&target_session_attrs=read-write", p.Addr(), r.Addr(), db),
		Slot:           slot,
		Servers:        []string{toMC.Addr()},
		Invalidate:     "delete",
		StatusInterval: 100 * time.Millisecond,
		Tables:         map[string][]string{"public.items": {"item:{id}"}},
	}
	sc := fleet.StartSidecar(t, cfg)

	// R stops receiving WAL: it will be promoted behind P.
	r.SetPrimaryAddr(t, fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(t)))
	cluster.Eventually(t, 30*time.Second, func() error {
		if n := p.QueryString(t, db, `SELECT count(*)::text FROM pg_stat_replication
			WHERE pid NOT IN (SELECT active_pid FROM pg_replication_slots WHERE active_pid IS NOT NULL)`); n != "0" {
			return fmt.Errorf("%s physical walsenders left on P", n)
		}
		return nil
	})
	for round := 1; round <= 20; round++ {
		p.ExecDB(t, db, "UPDATE items SET v = $1", round)
	}
	p.WaitConfirmed(t, db, slot, p.InsertLSN(t, db), time.Minute)
	confirmedOnP := mustLSN(t, p.QueryString(t, db, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", slot))

	p.Kill(t)
	r.Promote(t)
	if end := mustLSN(t, r.InsertLSN(t, db)); end >= confirmedOnP {
		t.Fatalf("R is not behind: its WAL ends at %s, P confirmed %s", end, confirmedOnP)
	}
	cluster.Eventually(t, time.Minute, func() error {
		if strings.Count(sc.Logs(), `"failover`) == 0 {
			return fmt.Errorf("no failover line yet")
		}
		return sc.Ready()
	})
	line := logLine(sc.Logs(), `"failover`)
	if !strings.Contains(line, "timeline 1") || !strings.Contains(line, "timeline 2") {
		t.Fatalf("failover line must name both histories: %s", line)
	}
	if !strings.Contains(sc.Logs(), "flushing this region's memcached") {
		t.Fatalf("no flush on failover:\n%s", sc.Logs())
	}

	kc.SetAll(t, keys) // fresh values after the flush
	toMC.Cut()
	r.ExecDB(t, db, "UPDATE items SET v = v + 100")
	for id := 1; id <= rows; id += 10 {
		r.ExecDB(t, db, "UPDATE items SET v = v + 1 WHERE id = $1", id)
	}
	end := mustLSN(t, r.InsertLSN(t, db))
	cluster.Eventually(t, 30*time.Second, func() error {
		st, err := sc.Status()
		if err != nil {
			return err
		}
		if got := mustLSN(t, st.Slot.ReceivedLSN); got < end {
			return fmt.Errorf("sidecar received %s, want %s", got, end)
		}
		return nil
	})
	assertConfirmedWithinWAL(t, r)
	sc.Kill()
	r.WaitSlotInactive(t, db, slot, 30*time.Second)
	assertConfirmedWithinWAL(t, r)
	toMC.Heal()

	sc = sc.Relaunch(t)
	sc.WaitReady(t, time.Minute)
	r.WaitConfirmed(t, db, slot, end.String(), time.Minute)
	if err := kc.AllInvalidated(keys); err != nil {
		t.Fatalf("changes on the promoted replica after a SIGKILL: %v", err)
	}
	assertConfirmedWithinWAL(t, r)
}

// TestKilledDuringNewSlotFlush kills the sidecar after it created its slot
// but before the flush that must precede consuming it could finish
// (memcached unreachable). The next process finds the slot, and its flush
// marker, and flushes before consuming.
func TestKilledDuringNewSlotFlush(t *testing.T) {
	e := newEnv(t)
	e.exec(t, "CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL)")
	toMC := cluster.NewTCPProxy(t, e.mc.Addr())
	kc := cluster.DialKeys(t, e.mc.Addr())
	keys := cluster.KeyRange("item:", 1, 50)
	kc.SetAll(t, keys) // stale: made before the slot, so only a flush removes them
	toMC.Cut()
	sc := fleet.LaunchSidecar(t, e.sidecar("delete", map[string][]string{"public.items": {"item:{id}"}}, toMC.Addr()))
	cluster.Eventually(t, time.Minute, func() error {
		n := e.pg.QueryString(t, db, "SELECT count(*)::text FROM pg_replication_slots WHERE slot_name IN ($1, $2)", slot, slot+"_flushing")
		if n != "2" {
			return fmt.Errorf("%s of the slot and its marker exist", n)
		}
		return nil
	})
	sc.Kill()
	toMC.Heal()
	sc = sc.Relaunch(t)
	sc.WaitReady(t, time.Minute)
	if err := kc.AllInvalidated(keys); err != nil {
		t.Fatalf("slot created by a killed sidecar consumed without a flush: %v", err)
	}
	if n := e.pg.QueryString(t, db, "SELECT count(*)::text FROM pg_replication_slots WHERE slot_name = $1", slot+"_flushing"); n != "0" {
		t.Fatal("flush marker left after the flush")
	}
}

func assertConfirmedWithinWAL(t *testing.T, p *cluster.Postgres) {
	t.Helper()
	ok := p.QueryString(t, db, "SELECT (confirmed_flush_lsn <= pg_current_wal_insert_lsn())::text FROM pg_replication_slots WHERE slot_name = $1", slot)
	if ok != "true" {
		t.Fatalf("slot %s confirmed beyond the server's WAL: %s > %s", slot,
			p.QueryString(t, db, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", slot), p.InsertLSN(t, db))
	}
}

// logLine is the first line of logs containing sub.
func logLine(logs, sub string) string {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
