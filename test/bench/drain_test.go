package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

// drainTimeout bounds a drain that never ends (a broken sidecar); it is a
// deadline for the benchmark to give up, not a measured figure.
const drainTimeout = 10 * time.Minute

func BenchmarkDrain(b *testing.B) {
	// Write with synchronous_commit off to build the backlogs fast.
	pg := startPrimary(b, 10, cluster.WithPGConf("synchronous_commit", "off")) // 1M accounts
	mc := cluster.StartMemcached(b, cluster.WithMemoryMB(256))
	b.Run("OneMillionRowTxn", func(b *testing.B) {
		drain(b, pg, mc, "big", func() {
			pg.ExecDB(b, db, "UPDATE pgbench_accounts SET abalance = abalance + 1")
		})
	})
	b.Run("PgbenchSmallTxns", func(b *testing.B) {
		drain(b, pg, mc, "small", func() {
			pgbench(b, pg, "-n", "-N", "-c", "4", "-j", "2", "-t", "5000")
		})
	})
}

// drain writes one backlog into two fresh slots and drains one with
// pg_recvlogical, the other with the sidecar.
func drain(b *testing.B, pg *cluster.Postgres, mc *cluster.Memcached, name string, write func()) {
	recvSlot, sideSlot := "recv_"+name, "side_"+name
	createSlot(b, pg, recvSlot)
	createSlot(b, pg, sideSlot)
	defer dropSlot(b, pg, recvSlot)
	defer dropSlot(b, pg, sideSlot)
	start := pg.InsertLSN(b, db)
	write()
	end := pg.InsertLSN(b, db)
	walBytes := pg.QueryString(b, db, "SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::bigint::text", end, start)

	b.ResetTimer()
	recv, recvCPU := recvlogical(b, pg, recvSlot, end)
	side, sideCPU, rss := sidecarDrain(b, pg, mc, sideSlot, end)
	b.StopTimer()

	ratio := side.Seconds() / recv.Seconds()
	cpuRatio := sideCPU.Seconds() / recvCPU.Seconds()
	b.ReportMetric(recv.Seconds(), "recvlogical_s")
	b.ReportMetric(side.Seconds(), "sidecar_s")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(recvCPU.Seconds(), "recvlogical_cpu_s")
	b.ReportMetric(sideCPU.Seconds(), "sidecar_cpu_s")
	b.ReportMetric(float64(rss)/(1<<20), "sidecar_peak_rss_MiB")
	fmt.Fprintf(os.Stdout, "\n%-18s %12s %14s %12s %7s %14s %12s %9s %16s\n", "backlog", "wal_bytes",
		"pg_recvlogical", "sidecar", "ratio", "recvlogical_cpu", "sidecar_cpu", "cpu_ratio", "sidecar_peak_rss")
	fmt.Fprintf(os.Stdout, "%-18s %12s %14s %12s %7.2f %14s %12s %9.2f %13.1f MiB   (targets: ratio <= 1.2, cpu_ratio <= 1.1, rss < 64 MiB)\n",
		b.Name(), walBytes, recv.Round(time.Millisecond), side.Round(time.Millisecond), ratio,
		recvCPU.Round(10*time.Millisecond), sideCPU.Round(10*time.Millisecond), cpuRatio, float64(rss)/(1<<20))
}

// recvlogical drains slot to /dev/null up to end, over TCP as the superuser.
// It returns the wall time and pg_recvlogical's CPU time.
func recvlogical(b *testing.B, pg *cluster.Postgres, slot, end string) (time.Duration, time.Duration) {
	b.Helper()
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=%s", pg.Port(), db)
	cmd := exec.Command(filepath.Join(cluster.PGBinDir, "pg_recvlogical"), "-d", dsn, "--slot", slot, "--start",
		"-o", "proto_version=1", "-o", "publication_names="+publication, "--plugin", "pgoutput",
		"-f", "/dev/null", "--endpos", end, "--no-loop")
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(t0)
	if err != nil {
		b.Fatalf("pg_recvlogical: %v\n%s", err, out)
	}
	return d, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// sidecarDrain starts the sidecar on slot and times it until the slot has
// confirmed end; it returns that time, the sidecar's CPU time (its start
// included) and its peak RSS.
func sidecarDrain(b *testing.B, pg *cluster.Postgres, mc *cluster.Memcached, slot, end string) (time.Duration, time.Duration, int64) {
	b.Helper()
	cluster.Binary(b) // built once per process: not part of the drain
	t0 := time.Now()
	sc := fleet.LaunchSidecar(b, fleet.SidecarConfig{
		Source: pg.DSN(db), Slot: slot, Publication: publication, Servers: []string{mc.Addr()},
		Invalidate: "stale", StatusInterval: 50 * time.Millisecond, Tables: keys, PProf: true,
	})
	if dir := os.Getenv("BENCH_PPROF_DIR"); dir != "" {
		go saveProfile(b, sc.Config.HTTPListen, filepath.Join(dir, "drain-"+slot+".pprof"), time.Second, 3)
	}
	// The CPU the sidecar spent starting (up to streaming), for the
	// figure of the drain alone.
	var startCPU time.Duration
	cluster.Eventually(b, drainTimeout, func() error {
		if sc.Exited() {
			return fmt.Errorf("sidecar exited: %v", sc.Wait(0))
		}
		if st, err := sc.Status(); err != nil || st.Slot == nil || !st.Slot.Streaming {
			return fmt.Errorf("sidecar not streaming yet")
		}
		startCPU = processCPU(b, sc.Pid())
		return nil
	})
	cluster.Eventually(b, drainTimeout, func() error {
		if sc.Exited() {
			return fmt.Errorf("sidecar exited: %v", sc.Wait(0))
		}
		if !reached(b, pg, slot, end) {
			return fmt.Errorf("slot %s has not confirmed %s", slot, end)
		}
		return nil
	})
	d := time.Since(t0)
	rss, err := peakRSS(sc.Pid())
	if err != nil {
		b.Fatal(err)
	}
	cpu := processCPU(b, sc.Pid())
	b.ReportMetric(startCPU.Seconds(), "sidecar_start_cpu_s")
	fmt.Fprintf(os.Stdout, "sidecar CPU up to streaming: %s (included in sidecar_cpu)\n", startCPU)
	sc.Kill()
	return d, cpu, rss
}
