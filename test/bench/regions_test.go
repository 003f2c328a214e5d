package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cachesync/cachesync/region"
	"github.com/cachesync/cachesync/test/fleet"
)

// BenchmarkRegionsLag runs two regions under a steady pgbench load with the
// replica's delay off: east reads the primary, west reads a streaming
// replica and gates on its replay. It prints each region's end-to-end lag
// (heartbeats) next to the replica's own replay lag, measured by timing how
// long the replica takes to replay the primary's insert position, so the
// gate's cost is the difference between west and east.
func BenchmarkRegionsLag(b *testing.B) {
	pg := startPrimary(b, 1)
	replica := pg.StartReplica(b)
	east := fleet.StartRegion(b, fleet.RegionSpec{Name: "east", Source: pg.DSN(db), ReadDSN: pg.DSN(db), Tables: keys})
	west := fleet.StartRegion(b, fleet.RegionSpec{
		Name: "west", Source: pg.DSN(db), Replica: replica.DSN(db), ReadDSN: replica.DSN(db),
		Join: []string{east.Sidecar.Config.ClusterBind}, Tables: keys,
	})

	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg     sync.WaitGroup
		replay []time.Duration
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		replay = sampleReplayLag(ctx, pg.DSN(db), replica.DSN(db))
	}()
	b.ResetTimer()
	pgbench(b, pg, "-n", "-N", "-R", "300", "-T", "10", "-c", "4", "-j", "2")
	b.StopTimer()
	cancel()
	wg.Wait()

	fmt.Fprintf(os.Stdout, "\nregions under pgbench -N -R 300 -T 10, replica without delay (heartbeats every 200ms):\n")
	fmt.Fprintf(os.Stdout, "%-34s %10s %10s %8s\n", "", "p50", "p99", "samples")
	for _, r := range []*fleet.Region{east, west} {
		lag := e2eLag(b, r.Sidecar)
		p50, p99, n := lag.P50*1e3, lag.P99*1e3, lag.Samples
		label := r.Spec.Name + " e2e (reads the primary)"
		if r.Spec.Replica != "" {
			label = r.Spec.Name + " e2e (gated on its replica)"
		}
		fmt.Fprintf(os.Stdout, "%-34s %8.1fms %8.1fms %8d\n", label, p50, p99, n)
		b.ReportMetric(p50, r.Spec.Name+"_e2e_p50_ms")
		b.ReportMetric(p99, r.Spec.Name+"_e2e_p99_ms")
	}
	slices.Sort(replay)
	rp50, rp99 := region.Percentile(replay, 0.5), region.Percentile(replay, 0.99)
	fmt.Fprintf(os.Stdout, "%-34s %8.1fms %8.1fms %8d\n", "replica replay lag (own)", ms(rp50), ms(rp99), len(replay))
	b.ReportMetric(ms(rp50), "replica_replay_p50_ms")
	b.ReportMetric(ms(rp99), "replica_replay_p99_ms")
}

// sampleReplayLag takes the primary's insert position every 50ms and times
// how long the replica takes to replay it.
func sampleReplayLag(ctx context.Context, primaryDSN, replicaDSN string) []time.Duration {
	p, err := pgx.Connect(ctx, primaryDSN)
	if err != nil {
		return nil
	}
	defer p.Close(context.Background())
	r, err := pgx.Connect(ctx, replicaDSN)
	if err != nil {
		return nil
	}
	defer r.Close(context.Background())
	var out []time.Duration
	for ctx.Err() == nil {
		var lsn string
		if err := p.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn); err != nil {
			break
		}
		t0 := time.Now()
		for ctx.Err() == nil {
			var done bool
			if err := r.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", lsn).Scan(&done); err != nil || done {
				break
			}
		}
		if ctx.Err() == nil {
			out = append(out, time.Since(t0))
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond): // the sampling period, not a wait for a condition
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
