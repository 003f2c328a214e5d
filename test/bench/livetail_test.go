package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cachesync/cachesync/region"
	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

// liveTailLoad is how long each load runs: long enough for a few hundred
// probe samples and a steady walsender, short enough for make bench.
const liveTailLoad = 12 * time.Second

// liveTailScript updates one random row of the 100k accounts per
// transaction.
const liveTailScript = "\\set aid random(1, 100000)\nUPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n"

// liveTailRun is one consumer under one load, as measured from outside.
type liveTailRun struct {
	consumer string
	load     string
	tps      float64
	lag      []time.Duration // commit -> key marked stale, per marker
	unsent   []int64         // walsender's unsent WAL (bytes), sampled
	replay   []time.Duration // the replica's own replay lag (gated runs)
	cpu      time.Duration   // the sidecar's CPU time over the run
}

// BenchmarkLiveTail measures the sidecar at the primary's full write rate:
// pgbench updating random rows of a 100k-row table with 8 clients
// (synchronous commit on, fsync off), at -R 10000 and unthrottled. For each
// load it runs pg_recvlogical (the reference consumer), the sidecar of a
// region that reads the primary, and the sidecar of a region gated on a
// replica without apply delay. A probe updates marker rows and polls
// memcached until the marker's key is stale (commit -> invalidated, from
// outside); a sampler reads the walsender's unsent WAL
// (pg_current_wal_lsn() - sent_lsn). With BENCH_PPROF_DIR set, the
// unthrottled sidecar run also saves a 5 s CPU profile there.
func BenchmarkLiveTail(b *testing.B) {
	pg := startPrimary(b, 1, cluster.WithPGConf("fsync", "off"), cluster.WithPGConf("max_connections", "50"))
	pg.ExecDB(b, db, "CREATE TABLE markers (id int PRIMARY KEY, v int NOT NULL DEFAULT 0)")
	pg.ExecDB(b, db, "INSERT INTO markers SELECT g FROM generate_series(1, 1000) g")
	pg.ExecDB(b, db, "ALTER PUBLICATION "+publication+" ADD TABLE markers")
	replica := pg.StartReplica(b)
	mc := cluster.StartMemcached(b, cluster.WithMemoryMB(128))
	tables := map[string][]string{table: {"acct:{aid}"}, "public.markers": {"marker:{id}"}}
	script := filepath.Join(b.TempDir(), "update.sql")
	if err := os.WriteFile(script, []byte(liveTailScript), 0o644); err != nil {
		b.Fatal(err)
	}
	loads := []struct{ name, rate string }{{"-R 10000", "10000"}, {"unthrottled", ""}}

	var runs []liveTailRun
	b.ResetTimer()
	for _, load := range loads {
		args := []string{"-n", "-f", script, "-c", "8", "-j", "2", "-T", strconv.Itoa(int(liveTailLoad / time.Second))}
		if load.rate != "" {
			args = append(args, "-R", load.rate)
		}
		// pg_recvlogical: the reference for the walsender's unsent WAL.
		createSlot(b, pg, "recv")
		recv := startRecvlogical(b, pg, "recv")
		r := measureLoad(b, pg, nil, nil, "recv", args)
		recv.stop(b)
		dropSlot(b, pg, "recv")
		r.consumer, r.load = "pg_recvlogical", load.name
		runs = append(runs, r)

		for _, gated := range []bool{false, true} {
			cfg := fleet.SidecarConfig{
				Source: pg.DSN(db), Slot: "live", Publication: publication, Servers: []string{mc.Addr()},
				Invalidate: "stale", Tables: tables, StatusInterval: 100 * time.Millisecond, PProf: true,
			}
			name := "sidecar"
			var rep *cluster.Postgres
			if gated {
				cfg.Replica, name, rep = replica.DSN(db), "sidecar, gated on replica", replica
			}
			sc := fleet.StartSidecar(b, cfg)
			kc := cluster.DialKeys(b, mc.Addr())
			profile := ""
			if dir := os.Getenv("BENCH_PPROF_DIR"); dir != "" && load.rate == "" && !gated {
				profile = filepath.Join(dir, "livetail-unthrottled.pprof")
			}
			cpu0 := processCPU(b, sc.Pid())
			r := measureLoadProfiled(b, pg, rep, kc, "live", args, sc.Config.HTTPListen, profile)
			r.cpu = processCPU(b, sc.Pid()) - cpu0
			sc.Kill()
			dropSlot(b, pg, "live")
			r.consumer, r.load = name, load.name
			runs = append(runs, r)
		}
	}
	b.StopTimer()
	printLiveTail(b, runs)
}

// measureLoad runs pgbench with args while the probe (when kc is set) and
// the samplers run, and returns what they saw.
func measureLoad(b *testing.B, pg, replica *cluster.Postgres, kc *cluster.KeyClient, slot string, args []string) liveTailRun {
	return measureLoadProfiled(b, pg, replica, kc, slot, args, "", "")
}

func measureLoadProfiled(b *testing.B, pg, replica *cluster.Postgres, kc *cluster.KeyClient, slot string, args []string, httpAddr, profile string) liveTailRun {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg  sync.WaitGroup
		run liveTailRun
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		run.unsent = sampleUnsent(ctx, pg.DSN(db), slot)
	}()
	if kc != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run.lag = probeMarkers(ctx, b, pg.DSN(db), kc)
		}()
	}
	if replica != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run.replay = sampleReplayLag(ctx, pg.DSN(db), replica.DSN(db))
		}()
	}
	if profile != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			saveProfile(b, httpAddr, profile, 3*time.Second, 5)
		}()
	}
	out := pgbench(b, pg, args...)
	cancel()
	wg.Wait()
	run.tps = parseTPS(b, out)
	return run
}

// probeMarkers loops: mark a marker's key valid in memcached, update its row
// (autocommit), then poll memcached until the key is stale. The latency runs
// from the commit's return to the first poll that sees the key stale, so it
// is precise to the poll interval.
func probeMarkers(ctx context.Context, b *testing.B, dsn string, kc *cluster.KeyClient) []time.Duration {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Errorf("probe: %v", err)
		return nil
	}
	defer conn.Close(context.Background())
	var out []time.Duration
	for i := 1; ctx.Err() == nil; i = i%1000 + 1 {
		key := []string{"marker:" + strconv.Itoa(i)}
		kc.SetAll(b, key)
		if _, err := conn.Exec(ctx, "UPDATE markers SET v = v + 1 WHERE id = $1", i); err != nil {
			break
		}
		t0 := time.Now()
		for ctx.Err() == nil {
			st, err := kc.States(key)
			if err != nil {
				b.Errorf("probe: %v", err)
				return out
			}
			if st[0].Invalidated() {
				out = append(out, time.Since(t0))
				break
			}
			// The probe's resolution: a tighter loop would take a core
			// from the system it measures.
			time.Sleep(200 * time.Microsecond)
		}
		// Leave the system alone between samples (the probe's rate).
		time.Sleep(10 * time.Millisecond)
	}
	return out
}

// unsentQuery is the walsender's WAL not yet sent, for the walsender that
// streams slot.
const unsentQuery = `SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), r.sent_lsn)), 0)::bigint
FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = $1`

// sampleUnsent reads the unsent WAL of slot's walsender every 100ms.
func sampleUnsent(ctx context.Context, dsn, slot string) []int64 {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil
	}
	defer conn.Close(context.Background())
	var out []int64
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return out
		case <-t.C:
		}
		var n int64
		if err := conn.QueryRow(ctx, unsentQuery, slot).Scan(&n); err != nil {
			return out
		}
		out = append(out, n)
	}
}

// saveProfile takes a CPU profile of secs seconds from the sidecar's
// /debug/pprof/, after settle.
func saveProfile(b *testing.B, httpAddr, path string, settle time.Duration, secs int) {
	time.Sleep(settle) // let the load settle before profiling
	client := http.Client{Timeout: 30 * time.Second}
	res, err := client.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", httpAddr, secs))
	if err != nil {
		b.Logf("profile: %v", err)
		return
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		b.Logf("profile: %v (HTTP %d)", err, res.StatusCode)
		return
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Logf("profile: %v", err)
		return
	}
	fmt.Fprintf(os.Stdout, "sidecar CPU profile: %s\n", path)
	// And where its goroutines wait, right after.
	if res, err := client.Get("http://" + httpAddr + "/debug/pprof/goroutine?debug=2"); err == nil {
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		_ = os.WriteFile(path+".goroutines", data, 0o644)
	}
}

var tpsRE = regexp.MustCompile(`tps = ([0-9.]+)`)

func parseTPS(b *testing.B, out string) float64 {
	m := tpsRE.FindStringSubmatch(out)
	if m == nil {
		b.Fatalf("no tps in pgbench output:\n%s", out)
	}
	f, _ := strconv.ParseFloat(m[1], 64)
	return f
}

// recvProcess is a pg_recvlogical streaming a slot to /dev/null.
type recvProcess struct{ cmd *exec.Cmd }

func startRecvlogical(b *testing.B, pg *cluster.Postgres, slot string) *recvProcess {
	b.Helper()
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=%s", pg.Port(), db)
	cmd := exec.Command(filepath.Join(cluster.PGBinDir, "pg_recvlogical"), "-d", dsn, "--slot", slot, "--start",
		"-o", "proto_version=1", "-o", "publication_names="+publication, "--plugin", "pgoutput",
		"-f", "/dev/null", "--no-loop", "-s", "1")
	if err := cmd.Start(); err != nil {
		b.Fatalf("pg_recvlogical: %v", err)
	}
	cluster.Eventually(b, 30*time.Second, func() error {
		if pg.QueryString(b, db, "SELECT count(*)::text FROM pg_replication_slots WHERE slot_name = $1 AND active", slot) != "1" {
			return fmt.Errorf("slot %s not active yet", slot)
		}
		return nil
	})
	return &recvProcess{cmd: cmd}
}

func (r *recvProcess) stop(b *testing.B) {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

func printLiveTail(b *testing.B, runs []liveTailRun) {
	fmt.Fprintf(os.Stdout, "\nlive tail: pgbench updating random rows of 100k, 8 clients, synchronous_commit on, fsync off, %s per load\n", liveTailLoad)
	fmt.Fprintf(os.Stdout, "%-12s %-26s %8s %9s %9s %9s %7s %12s %12s %10s %10s\n",
		"load", "consumer", "tps", "p50", "p99", "max", "probes", "unsent p50", "unsent max", "replay p99", "CPU")
	for _, r := range runs {
		lat := "-"
		p50, p99, mx := "-", "-", "-"
		if len(r.lag) > 0 {
			slices.Sort(r.lag)
			p50 = fmt.Sprintf("%.1fms", ms(region.Percentile(r.lag, 0.5)))
			p99 = fmt.Sprintf("%.1fms", ms(region.Percentile(r.lag, 0.99)))
			mx = fmt.Sprintf("%.1fms", ms(r.lag[len(r.lag)-1]))
			lat = strconv.Itoa(len(r.lag))
		}
		slices.Sort(r.unsent)
		u50, umax := "-", "-"
		if len(r.unsent) > 0 {
			u50 = bytesStr(r.unsent[len(r.unsent)/2])
			umax = bytesStr(r.unsent[len(r.unsent)-1])
		}
		rp := "-"
		if len(r.replay) > 0 {
			slices.Sort(r.replay)
			rp = fmt.Sprintf("%.1fms", ms(region.Percentile(r.replay, 0.99)))
		}
		cpu := "-"
		if r.cpu > 0 {
			cpu = fmt.Sprintf("%.0f%%", 100*r.cpu.Seconds()/liveTailLoad.Seconds())
		}
		fmt.Fprintf(os.Stdout, "%-12s %-26s %8.0f %9s %9s %9s %7s %12s %12s %10s %10s\n",
			r.load, r.consumer, r.tps, p50, p99, mx, lat, u50, umax, rp, cpu)
		metric := strings.NewReplacer(" ", "", ",", "", "-", "").Replace(r.load + "/" + r.consumer)
		if len(r.lag) > 0 {
			b.ReportMetric(ms(region.Percentile(r.lag, 0.99)), metric+"_p99_ms")
		}
	}
	fmt.Fprintf(os.Stdout, "(targets: p99 < 20 ms at 10k tps, < 100 ms unthrottled; unsent WAL within 1.5x pg_recvlogical's; gated p99 within 20 ms of the replica's replay p99)\n")
}

func bytesStr(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// processCPU is a process's user+system CPU time so far (/proc/pid/stat).
func processCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	d, err := procCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	return d
}
