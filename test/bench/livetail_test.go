package bench

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
)

// BenchmarkLiveTail measures commit-to-invalidated latency under a steady
// load, from the sidecar's own end-to-end heartbeats (emitted on the
// primary, timed when their invalidation batch is acknowledged).
func BenchmarkLiveTail(b *testing.B) {
	pg := startPrimary(b, 1)
	// The backlog benchmarks write with synchronous_commit off to build
	// their backlog fast; a live tail measured that way would measure the
	// WAL writer's delay (commits reach the walsender only when flushed).
	pg.ExecDB(b, db, "ALTER SYSTEM SET synchronous_commit = on")
	pg.ExecDB(b, db, "SELECT pg_reload_conf()")
	mc := cluster.StartMemcached(b)
	sc := cluster.StartSidecar(b, cluster.SidecarConfig{
		Source: pg.DSN(db), Slot: "live", Publication: publication, Servers: []string{mc.Addr()},
		Invalidate: "stale", HeartbeatInterval: 100 * time.Millisecond, Tables: keys,
	})

	b.ResetTimer()
	out := pgbench(b, pg, "-n", "-N", "-R", "300", "-T", "10", "-c", "4", "-j", "2")
	b.StopTimer()

	var lag struct{ p50, p99, max float64 }
	var samples int
	cluster.Eventually(b, 30*time.Second, func() error {
		st, err := sc.Status()
		if err != nil {
			return err
		}
		if st.E2ELag == nil || st.E2ELag.Samples == 0 {
			return errors.New("no end-to-end lag samples yet")
		}
		lag.p50, lag.p99, lag.max, samples = st.E2ELag.P50, st.E2ELag.P99, st.E2ELag.Max, st.E2ELag.Samples
		return nil
	})
	b.ReportMetric(lag.p50*1000, "e2e_p50_ms")
	b.ReportMetric(lag.p99*1000, "e2e_p99_ms")
	b.ReportMetric(lag.max*1000, "e2e_max_ms")
	fmt.Fprintf(os.Stdout, "\nlive tail under pgbench -N -R 300 -T 10: commit-to-invalidated p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d heartbeat samples)\n",
		lag.p50*1000, lag.p99*1000, lag.max*1000, samples)
	b.Logf("pgbench:\n%s", out)
}
