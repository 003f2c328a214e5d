package faults

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

// failoverLag is how long the writes go on on P while R is cut off.
const failoverLag = 5 * time.Second

// failoverWorld is the failover scenario's own databases, started for it
// alone (the suite's primary has no replica to lose): a primary P, a
// replica R streaming from it through link, and a region, south, whose
// sidecar, readers and writers all use the multi-host DSN "P,R" with
// target_session_attrs=read-write, so that they follow the promotion.
type failoverWorld struct {
	p, r   *cluster.Postgres
	link   *cluster.TCPProxy // R's WAL stream from P
	dsn    string
	region *fleet.Region
}

func startFailoverWorld(t *testing.T) *failoverWorld {
	t.Helper()
	f := &failoverWorld{p: startPrimary(t)}
	f.r = f.p.StartReplica(t)
	f.link = cluster.NewTCPProxy(t, f.p.Addr())
	f.r.SetPrimaryAddr(t, f.link.Addr())
	linkPort := f.link.Addr()[strings.LastIndexByte(f.link.Addr(), ':')+1:]
	cluster.Eventually(t, 30*time.Second, func() error {
		// Streaming through link, so that cutting it cuts R off.
		st := f.r.QueryString(t, "app", "SELECT coalesce((SELECT status || ' ' || sender_port FROM pg_stat_wal_receiver), 'none')")
		if st != "streaming "+linkPort {
			return fmt.Errorf("replica's WAL receiver: %s, want streaming from port %s", st, linkPort)
		}
		return nil
	})
	f.dsn = fmt.Sprintf("postgres://postgres@%s,%s/app?sslmode=disable&target_session_attrs=read-write", f.p.Addr(), f.r.Addr())
	f.region = fleet.StartRegion(t, fleet.RegionSpec{
		Name: "south", Source: f.dsn, ReadDSN: f.dsn, Tables: tables, Values: values, Consistency: monitorConfig,
	})
	return f
}

// useFailoverWorld runs the scenario on its own world: region south alone.
// Once P is dead, the readers' and the checker's DSN reach R only: the
// database that is the truth after the failover.
func (w *world) useFailoverWorld(t *testing.T) {
	f := startFailoverWorld(t)
	saved := w.regions
	w.regions, w.failover = []*fleet.Region{f.region}, f
	t.Cleanup(func() { w.regions, w.failover = saved, nil })
}

// failoverToLaggingReplica cuts R off while the writes go on on P, kills P
// and promotes R, which never saw P's last writes: they are lost on the
// database side, and the cache must agree with R, not P. The sidecar must
// see a new server history on R, start a new slot and flush the region.
func failoverToLaggingReplica(t *testing.T, w *world) string {
	f, l := w.failover, w.load
	f.link.Cut()
	writes0 := l.writes.Load()
	pause(nil, failoverLag)
	onP := itemVersions(t, f.p)
	pEnd := f.p.InsertLSN(t, "app")
	f.p.Kill(t)
	lostWrites := l.writes.Load() - writes0

	// R is frozen until promoted: cut off, and read-only to the writers.
	cluster.Eventually(t, 30*time.Second, func() error {
		if ok := f.r.QueryString(t, "app", "SELECT (pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn())::text"); ok != "true" {
			return fmt.Errorf("replica has not replayed all it received")
		}
		return nil
	})
	onR := itemVersions(t, f.r)
	lag := f.r.QueryString(t, "app", "SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::bigint::text", pEnd)
	if n, err := strconv.ParseInt(lag, 10, 64); err != nil || n <= 0 {
		t.Fatalf("R is not behind P: P's WAL at %s, R %s bytes behind", pEnd, lag)
	}
	lostRows := 0
	for k, v := range onP {
		if v > onR[k] {
			lostRows++
		}
	}
	pPort := f.p.Port()
	dropped := l.dropLost(func(s sample) bool { return s.server == pPort && s.version > onR[s.key] })

	promoted := time.Now()
	f.r.Promote(t)
	sc := f.region.Sidecar
	cluster.Eventually(t, 60*time.Second, func() error {
		if !strings.Contains(sc.Logs(), `"failover`) {
			return fmt.Errorf("no failover line yet")
		}
		return sc.Ready()
	})
	if !strings.Contains(sc.Logs(), "flushing this region's memcached") {
		t.Fatalf("no flush on failover:\n%s", sc.Logs())
	}
	return fmt.Sprintf("south: replica cut off for %s of writes (%d writes, %s bytes of WAL, at least %d rows' last changes lost with P; %d watched writes dropped), primary SIGKILLed, replica promoted; sidecar on the new history %.1fs after the promotion",
		failoverLag, lostWrites, lag, lostRows, dropped, time.Since(promoted).Seconds())
}

// itemVersions is every hot item's version on pg, by key.
func itemVersions(t *testing.T, pg *cluster.Postgres) map[string]int {
	t.Helper()
	rows := pg.QueryString(t, "app", "SELECT string_agg(id || '=' || version, ',') FROM items WHERE id <= $1", hotRows)
	out := map[string]int{}
	for _, kv := range strings.Split(rows, ",") {
		id, v, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("item versions on %s: %q", pg.Name(), rows)
		}
		out["item:"+id] = n
	}
	return out
}
