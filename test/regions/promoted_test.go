package regions

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

// TestReplicaMustBeInRecovery: postgres.replica pointing at a primary is
// refused at start; a replica promoted while the sidecar runs makes the
// node unready with the reason (readyz, api/status, cachesync_replica_up 0),
// logged once, and invalidations are held meanwhile.
func TestReplicaMustBeInRecovery(t *testing.T) {
	pg := cluster.StartPostgres(t)
	pg.CreateDB(t, "app")
	pg.ExecDB(t, "app", "CREATE TABLE items (id int PRIMARY KEY, version int NOT NULL)")
	pg.ExecDB(t, "app", "INSERT INTO items SELECT g, 0 FROM generate_series(1, 10) g")
	mc := cluster.StartMemcached(t)
	cfg := fleet.SidecarConfig{
		Region: "west", Source: pg.DSN("app"), Replica: pg.DSN("app"), Servers: []string{mc.Addr()}, Invalidate: "delete",
		StatusInterval: 100 * time.Millisecond, Tables: map[string][]string{"public.items": {"item:{id}"}},
	}
	bad := fleet.LaunchSidecar(t, cfg)
	if err := bad.Wait(60 * time.Second); err == nil {
		t.Fatal("a sidecar whose replica is a primary started")
	}
	const refusal = "is not a replica (pg_is_in_recovery is false): point it at this region's streaming replica, or remove it in the primary's region"
	if !strings.Contains(bad.Logs(), refusal) {
		t.Fatalf("refusal does not say what to do:\n%s", bad.Logs())
	}

	replica := pg.StartReplica(t)
	cfg.Replica = replica.DSN("app")
	sc := fleet.StartSidecar(t, cfg)
	kc := cluster.DialKeys(t, mc.Addr())
	keys := cluster.KeyRange("item:", 1, 10)
	kc.SetAll(t, keys)

	replica.Promote(t)
	cluster.Eventually(t, 30*time.Second, func() error {
		if err := sc.Ready(); err == nil || !strings.Contains(err.Error(), "not in recovery") {
			return fmt.Errorf("readyz: %v", err)
		}
		st, err := sc.Status()
		if err != nil {
			return err
		}
		if st.Healthy || !strings.Contains(strings.Join(st.Problems, ";"), "not in recovery") || st.Replica == nil || st.Replica.Up {
			return fmt.Errorf("status healthy=%t problems=%v replica=%+v", st.Healthy, st.Problems, st.Replica)
		}
		body, _, err := cluster.HTTPGet("http://" + sc.Config.HTTPListen + "/metrics")
		if err != nil {
			return err
		}
		if !replicaDown.Match(body) {
			return fmt.Errorf("cachesync_replica_up is not 0")
		}
		return nil
	})

	pg.ExecDB(t, "app", "UPDATE items SET version = 1")
	end := pg.InsertLSN(t, "app")
	cluster.Eventually(t, 30*time.Second, func() error {
		st, err := sc.Status()
		if err != nil {
			return err
		}
		if st.QueueDepth == 0 {
			return fmt.Errorf("update not queued yet (received %s, want %s)", st.Slot.ReceivedLSN, end)
		}
		return nil
	})
	kc.RequireValid(t, keys) // held: the promoted replica follows nobody
	if n := strings.Count(sc.Logs(), "replica cannot gate"); n != 1 {
		t.Fatalf("%d log lines for one state change, want 1:\n%s", n, sc.Logs())
	}
}

var replicaDown = regexp.MustCompile(`(?m)^cachesync_replica_up\{[^}]*region="west"[^}]*\} 0$`)
