package bench

import (
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
	// synchronous_commit stays on (unlike BenchmarkDrain's backlogs): a live
	// tail measured with it off would measure the WAL writer's delay
	// (commits reach the walsender only when flushed).
	pg := startPrimary(b, 1)
	mc := cluster.StartMemcached(b)
	sc := cluster.StartSidecar(b, cluster.SidecarConfig{
		Source: pg.DSN(db), Slot: "live", Publication: publication, Servers: []string{mc.Addr()},
		Invalidate: "stale", HeartbeatInterval: 100 * time.Millisecond, Tables: keys,
	})

	b.ResetTimer()
	out := pgbench(b, pg, "-n", "-N", "-R", "300", "-T", "10", "-c", "4", "-j", "2")
	b.StopTimer()

	lag := e2eLag(b, sc)
	b.ReportMetric(lag.P50*1000, "e2e_p50_ms")
	b.ReportMetric(lag.P99*1000, "e2e_p99_ms")
	b.ReportMetric(lag.Max*1000, "e2e_max_ms")
	fmt.Fprintf(os.Stdout, "\nlive tail under pgbench -N -R 300 -T 10: commit-to-invalidated p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d heartbeat samples)\n",
		lag.P50*1000, lag.P99*1000, lag.Max*1000, lag.Samples)
	b.Logf("pgbench:\n%s", out)
}
