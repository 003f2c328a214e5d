package regions

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cachesync/cachesync/region"
	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

// TestSidecarFailover runs two sidecars for one region: one holds the slot,
// the other stands by. Killing the active one during a backlog makes the
// standby take over, and every key of the backlog is invalidated.
func TestSidecarFailover(t *testing.T) {
	const rows = 3000
	pg := cluster.StartPostgres(t)
	pg.CreateDB(t, "app")
	pg.ExecDB(t, "app", "CREATE TABLE items (id int PRIMARY KEY, version int NOT NULL)")
	pg.ExecDB(t, "app", "INSERT INTO items SELECT g, 0 FROM generate_series(1, $1::int) g", rows)
	mc := cluster.StartMemcached(t)

	cfg := fleet.SidecarConfig{
		Region: "west", Source: pg.DSN("app"), Servers: []string{mc.Addr()}, Invalidate: "delete",
		StatusInterval: 100 * time.Millisecond, Tables: map[string][]string{"public.items": {"item:{id}"}},
	}
	cfg.Node = "west-1"
	a := fleet.StartSidecar(t, cfg)
	cfg.Node, cfg.Join = "west-2", []string{a.Config.ClusterBind}
	b := fleet.LaunchSidecar(t, cfg)
	cluster.Eventually(t, 30*time.Second, func() error {
		st, err := b.Status()
		if err != nil {
			return err
		}
		if st.Active || !strings.Contains(strings.Join(st.Problems, ";"), "standing by") {
			return fmt.Errorf("west-2 should stand by: active=%t problems=%v", st.Active, st.Problems)
		}
		return nil
	})

	keys := cluster.KeyRange("item:", 1, rows)
	kc := cluster.DialKeys(t, mc.Addr())
	kc.SetAll(t, keys)
	db, err := pgx.Connect(bg, pg.DSN("app"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(bg)
	for id := 1; id <= rows; id++ { // one transaction per row: a backlog of commits
		if _, err := db.Exec(bg, "UPDATE items SET version = 1 WHERE id = $1", id); err != nil {
			t.Fatal(err)
		}
	}
	end := pg.InsertLSN(t, "app")

	a.Kill()
	killed := time.Now()
	cluster.Eventually(t, 30*time.Second, func() error {
		st, err := b.Status()
		if err != nil {
			return err
		}
		if !st.Active {
			return fmt.Errorf("west-2 not active yet: %v", st.Problems)
		}
		return nil
	})
	t.Logf("standby active %.2fs after SIGKILL of the active sidecar", time.Since(killed).Seconds())
	pg.WaitConfirmed(t, "app", "cachesync_west", end, time.Minute)
	if err := kc.AllInvalidated(keys); err != nil {
		t.Fatalf("after failover: %v", err)
	}

	// The fleet, as the new active node sees it, has the old one dead.
	cluster.Eventually(t, 30*time.Second, func() error {
		st, err := b.View()
		if err != nil {
			return err
		}
		states := map[string]string{}
		for _, m := range st.Fleet {
			states[m.Name] = m.State
		}
		if states["west-1"] != region.StateDead || states["west-2"] != region.StateAlive {
			return fmt.Errorf("fleet states %v, want west-1 dead and west-2 alive", states)
		}
		return nil
	})

	// A SIGTERM is a clean stop: exit status 0, and the slot is free for
	// the next sidecar.
	if err := b.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := b.Wait(30 * time.Second); err != nil {
		t.Fatalf("sidecar after SIGTERM: %v (want exit status 0)", err)
	}
	if active := pg.QueryString(t, "app", "SELECT active::text FROM pg_replication_slots WHERE slot_name = 'cachesync_west'"); active != "false" {
		t.Fatalf("slot still active after the sidecar stopped: %s", active)
	}
}
