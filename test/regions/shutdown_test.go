package regions

import (
	"fmt"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

// TestPrimaryShutdownWhileReplicaDown: a fast shutdown of the primary waits
// until every logical walsender's client has confirmed the end of WAL. A
// region whose replica is down holds its invalidations, so it cannot
// confirm; the sidecar must let go of its walsender instead of holding the
// primary's shutdown, and deliver everything once both are back.
func TestPrimaryShutdownWhileReplicaDown(t *testing.T) {
	pg := cluster.StartPostgres(t)
	pg.CreateDB(t, "app")
	pg.ExecDB(t, "app", "CREATE TABLE items (id int PRIMARY KEY, version int NOT NULL)")
	pg.ExecDB(t, "app", "INSERT INTO items SELECT g, 0 FROM generate_series(1, 100) g")
	replica := pg.StartReplica(t)
	mc := cluster.StartMemcached(t)
	west := fleet.StartSidecar(t, fleet.SidecarConfig{
		Region: "west", Source: pg.DSN("app"), Replica: replica.DSN("app"), Servers: []string{mc.Addr()},
		Invalidate: "delete", StatusInterval: 100 * time.Millisecond,
		Tables: map[string][]string{"public.items": {"item:{id}"}},
	})
	keys := cluster.KeyRange("item:", 1, 100)
	kc := cluster.DialKeys(t, mc.Addr())
	kc.SetAll(t, keys)

	replica.Stop(t)
	pg.ExecDB(t, "app", "UPDATE items SET version = 1")
	end := pg.InsertLSN(t, "app")
	cluster.Eventually(t, 10*time.Second, func() error {
		st, err := west.Status()
		if err != nil {
			return err
		}
		if st.Replica == nil || st.Replica.Up {
			return fmt.Errorf("west still sees its replica up: %+v", st.Replica)
		}
		return nil
	})
	// Invalidations are held while the replica is down: every key is
	// still valid (RequireValid fails the test otherwise).
	kc.RequireValid(t, keys)

	stopped := time.Now()
	pg.Stop(t) // fails the test if the shutdown takes over 30 s
	t.Logf("primary stopped %.1fs after the fast shutdown began, west holding %d keys", time.Since(stopped).Seconds(), 100)

	pg.Start(t)
	replica.Start(t)
	pg.WaitConfirmed(t, "app", "cachesync_west", end, time.Minute)
	if err := kc.AllInvalidated(keys); err != nil {
		t.Fatalf("after the primary and the replica came back: %v", err)
	}
}
