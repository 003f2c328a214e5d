package zzsmoke

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
)

func pgbench(t *testing.T, pg *cluster.Postgres, args ...string) {
	all := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(pg.Port()), "-U", "postgres"}, args...)
	all = append(all, "app")
	out, err := exec.Command(filepath.Join(cluster.PGBinDir, "pgbench"), all...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
}

func TestDrainProfile(t *testing.T) {
	pg := cluster.StartPostgres(t, cluster.WithPGConf("max_wal_size", "'4GB'"), cluster.WithPGConf("synchronous_commit", "off"))
	pg.CreateDB(t, "app")
	pgbench(t, pg, "-i", "-q", "-s", os.Getenv("SCALE"))
	pg.ExecDB(t, "app", "CREATE PUBLICATION cachesync FOR TABLE public.pgbench_accounts")
	mc := cluster.StartMemcached(t, cluster.WithMemoryMB(256))
	pg.ExecDB(t, "app", "SELECT pg_create_logical_replication_slot('s', 'pgoutput')")
	if os.Getenv("SMALL") != "" {
		pgbench(t, pg, "-n", "-N", "-c", "4", "-j", "2", "-t", "5000")
	} else {
		pg.ExecDB(t, "app", "UPDATE pgbench_accounts SET abalance = abalance + 1")
	}
	end := pg.QueryString(t, "app", "SELECT pg_current_wal_insert_lsn()::text")
	t0 := time.Now()
	sc := cluster.LaunchSidecar(t, cluster.SidecarConfig{
		Source: pg.DSN("app"), Slot: "s", Publication: "cachesync", Servers: []string{mc.Addr()},
		Invalidate: "stale", StatusInterval: 50 * time.Millisecond, Tables: map[string][]string{"public.pgbench_accounts": {"acct:{aid}"}},
	})
	go func() {
		time.Sleep(time.Duration(1500) * time.Millisecond)
		resp, err := http.Get("http://" + sc.Config.HTTPListen + "/debug/pprof/profile?seconds=" + os.Getenv("PSEC"))
		if err != nil {
			fmt.Println("pprof", err)
			return
		}
		f, _ := os.Create("/tmp/sidecar.pprof")
		io.Copy(f, resp.Body)
		f.Close()
	}()
	cluster.Eventually(t, 10*time.Minute, func() error {
		if pg.QueryString(t, "app", "SELECT (confirmed_flush_lsn >= $1::pg_lsn)::text FROM pg_replication_slots WHERE slot_name='s'", end) != "true" {
			return fmt.Errorf("no")
		}
		return nil
	})
	t.Logf("drain %v", time.Since(t0))
	t.Logf("t0 %s\n%s", t0.UTC().Format("15:04:05.000"), sc.Logs())
	time.Sleep(100 * time.Millisecond)
}
