package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/region"
	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

const (
	db          = "app"
	publication = "cachesync"
	table       = "public.pgbench_accounts"
)

var keys = map[string][]string{table: {"acct:{aid}"}}

// startPrimary starts a primary sized for a backlog of a million-row
// update, with pgbench's tables at scale (100k accounts per unit) and the
// publication the sidecar and pg_recvlogical read; opts add settings.
func startPrimary(b *testing.B, scale int, opts ...cluster.PGOption) *cluster.Postgres {
	b.Helper()
	pg := cluster.StartPostgres(b, append([]cluster.PGOption{
		cluster.WithPGConf("max_wal_size", "'4GB'"),
		cluster.WithPGConf("checkpoint_timeout", "'30min'"),
	}, opts...)...)
	pg.CreateDB(b, db)
	pgbench(b, pg, "-i", "-q", "-s", strconv.Itoa(scale))
	pg.ExecDB(b, db, "CREATE PUBLICATION "+publication+" FOR TABLE "+table)
	return pg
}

// pgbench runs pgbench against the primary's app database.
func pgbench(b *testing.B, pg *cluster.Postgres, args ...string) string {
	b.Helper()
	all := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(pg.Port()), "-U", "postgres"}, args...)
	all = append(all, db)
	cmd := exec.Command(filepath.Join(cluster.PGBinDir, "pgbench"), all...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("pgbench %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func createSlot(b *testing.B, pg *cluster.Postgres, name string) {
	b.Helper()
	pg.ExecDB(b, db, "SELECT pg_create_logical_replication_slot($1, 'pgoutput')", name)
}

func dropSlot(b *testing.B, pg *cluster.Postgres, name string) {
	b.Helper()
	pg.WaitSlotInactive(b, db, name, 30*time.Second)
	pg.ExecDB(b, db, "SELECT pg_drop_replication_slot($1)", name)
}

// reached reports whether slot has confirmed at least end.
func reached(b *testing.B, pg *cluster.Postgres, slot, end string) bool {
	b.Helper()
	return pg.QueryString(b, db, "SELECT coalesce((SELECT (confirmed_flush_lsn >= $2::pg_lsn)::text FROM pg_replication_slots WHERE slot_name = $1), 'false')", slot, end) == "true"
}

// peakRSS is the process's high-water resident set (VmHWM), in bytes.
func peakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak rss: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("peak rss %q: %w", line, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("peak rss: no VmHWM in /proc/%d/status", pid)
}

// e2eLag waits until the sidecar has end-to-end lag figures (heartbeats
// timed from commit to invalidated) and returns them.
func e2eLag(b *testing.B, sc *fleet.Sidecar) region.LagStats {
	b.Helper()
	var lag region.LagStats
	cluster.Eventually(b, 30*time.Second, func() error {
		st, err := sc.Status()
		if err != nil {
			return err
		}
		if st.E2ELag == nil || st.E2ELag.Samples == 0 {
			return errors.New("no end-to-end lag samples yet")
		}
		lag = *st.E2ELag
		return nil
	})
	return lag
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times (100 on
// every Linux this runs on).
const clockTicks = 100

// procCPU is a running process's user+system CPU time (/proc/pid/stat).
func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("process cpu: %w", err)
	}
	// Fields after the command name (which may hold spaces) start at state.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("process cpu: short /proc/%d/stat", pid)
	}
	var ticks int64
	for _, v := range f[11:13] { // utime, stime
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("process cpu: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}
