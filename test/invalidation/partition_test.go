package invalidation

import (
	"fmt"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

// TestMemcachedUnreachableLosesNothing cuts the sidecar off memcached (a TCP
// proxy between them), writes changes, checks that the slot does not
// confirm past them, heals, and checks that every key gets invalidated.
func TestMemcachedUnreachableLosesNothing(t *testing.T) {
	const rows, perTxn = 2000, 100
	e := newEnv(t)
	e.exec(t, `CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL)`)
	e.exec(t, "INSERT INTO items SELECT g, 0 FROM generate_series(1, $1::int) g", rows)
	proxy := cluster.NewTCPProxy(t, e.mc.Addr())
	sc := fleet.StartSidecar(t, e.sidecar("stale", map[string][]string{"public.items": {"item:{id}"}}, proxy.Addr()))

	mc := cluster.DialKeys(t, e.mc.Addr())
	keys := cluster.KeyRange("item:", 1, rows)
	mc.SetAll(t, keys)

	proxy.Cut()
	e.exec(t, "UPDATE items SET v = v + 1 WHERE id <= $1", perTxn)
	firstEnd := e.insertLSN(t)
	e.exec(t, fmt.Sprintf(`DO $$
		BEGIN
			FOR i IN 1..%d LOOP
				UPDATE items SET v = v + 1 WHERE id > i * %d AND id <= (i + 1) * %d;
				COMMIT;
			END LOOP;
		END $$`, rows/perTxn-1, perTxn, perTxn))
	end := e.insertLSN(t)

	cluster.Eventually(t, 30*time.Second, func() error {
		st, err := sc.Status()
		if err != nil {
			return err
		}
		for _, m := range st.Memcached {
			if !m.Up {
				return nil
			}
		}
		return fmt.Errorf("sidecar still reports memcached up: %+v", st.Memcached)
	})
	// Let the sidecar report its position at least once more after it knew
	// memcached was down, then the slot must still be before the first
	// undelivered transaction's end.
	since := e.pg.QueryString(t, db, "SELECT now()::text")
	cluster.Eventually(t, 30*time.Second, func() error {
		fresh := e.pg.QueryString(t, db, `SELECT coalesce((SELECT (r.reply_time > $1::timestamptz)::text
			FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid
			WHERE s.slot_name = $2), 'no walsender')`, since, slot)
		if fresh != "true" {
			return fmt.Errorf("no standby status from the sidecar since %s (%s)", since, fresh)
		}
		return nil
	})
	if c := e.confirmed(t); c >= firstEnd {
		t.Fatalf("memcached unreachable, yet the slot confirmed %s, past the first undelivered transaction (ends by %s; its keys: %v)",
			c, firstEnd, mc.AllInvalidated(keys[:perTxn]))
	}
	// Nothing reached memcached: the cut was real.
	mc.RequireValid(t, keys)

	proxy.Heal()
	cluster.Eventually(t, 60*time.Second, func() error { return mc.AllInvalidated(keys) })
	e.waitConfirmed(t, end, 60*time.Second)
	sc.WaitReady(t, 30*time.Second)
}
