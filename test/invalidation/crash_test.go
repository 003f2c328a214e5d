package invalidation

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

const (
	crashTxns  = 20_000
	crashKills = 3
)

// TestSIGKILLMidBacklog kills the sidecar several times while it drains a
// backlog of small transactions. After each kill, every transaction that
// ended at or before the slot's confirmed LSN must already have its key
// invalidated (confirm never passes delivery); after the last restart,
// every key is invalidated (at-least-once).
func TestSIGKILLMidBacklog(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL);
		CREATE TABLE txn_end (id int PRIMARY KEY, lsn pg_lsn NOT NULL)`)
	e.exec(t, "INSERT INTO items SELECT g, 0 FROM generate_series(1, $1::int) g", crashTxns)
	e.createSlot(t, "public.items")

	mc := cluster.DialKeys(t, e.mc.Addr())
	keys := cluster.KeyRange("item:", 1, crashTxns)
	mc.SetAll(t, keys)

	// Transaction i updates row i alone. Its end LSN is recorded by the next
	// transaction (txn_end is not published) as the insert position right
	// after the commit: at or after the commit record's end.
	e.exec(t, fmt.Sprintf(`DO $$
		BEGIN
			FOR i IN 1..%d LOOP
				UPDATE items SET v = v + 1 WHERE id = i;
				COMMIT;
				INSERT INTO txn_end VALUES (i, pg_current_wal_insert_lsn());
			END LOOP;
		END $$`, crashTxns))
	ends := make([]lsn, crashTxns+1)
	loadEnds(t, e, ends)
	final := ends[crashTxns]

	seed := rand.Uint64()
	t.Logf("kill points seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	sc := fleet.LaunchSidecar(t, e.sidecar("delete", map[string][]string{"public.items": {"item:{id}"}}))
	for k := 1; k <= crashKills; k++ {
		// A kill point somewhere in the k-th quarter of the backlog.
		target := (k*crashTxns)/(crashKills+1) + rng.IntN(crashTxns/(2*(crashKills+1))) - crashTxns/(4*(crashKills+1))
		cluster.Eventually(t, 60*time.Second, func() error {
			if sc.Exited() {
				return fmt.Errorf("sidecar exited on its own: %v\n%s", sc.Wait(0), sc.Logs())
			}
			if c := e.confirmed(t); c < ends[target] {
				return fmt.Errorf("confirmed %s, waiting for transaction %d (%s) before killing", c, target, ends[target])
			}
			return nil
		})
		sc.Kill()
		e.waitSlotInactive(t)
		c := e.confirmed(t)
		done := 0
		for done < crashTxns && ends[done+1] <= c {
			done++
		}
		t.Logf("kill %d: confirmed %s covers %d of %d transactions", k, c, done, crashTxns)
		if err := mc.AllInvalidated(keys[:done]); err != nil {
			t.Fatalf("after kill %d the slot confirmed %s (transaction %d) but not all their keys were invalidated: %v", k, c, done, err)
		}
		sc = sc.Relaunch(t)
	}
	e.waitConfirmed(t, final, 2*time.Minute)
	if err := mc.AllInvalidated(keys); err != nil {
		t.Fatalf("backlog confirmed, but: %v", err)
	}
}

// loadEnds reads txn_end into ends[id], as one text value: a query per row
// would take longer than the drain.
func loadEnds(t *testing.T, e *env, ends []lsn) {
	t.Helper()
	blob := e.pg.QueryString(t, db, "SELECT string_agg(id || ' ' || lsn::text, ',' ORDER BY id) FROM txn_end")
	var id int
	var s string
	n := 0
	for _, rec := range strings.Split(blob, ",") {
		if _, err := fmt.Sscanf(rec, "%d %s", &id, &s); err != nil {
			t.Fatalf("txn_end row %q: %v", rec, err)
		}
		ends[id] = mustLSN(t, s)
		n++
	}
	if n != len(ends)-1 {
		t.Fatalf("txn_end has %d rows, want %d", n, len(ends)-1)
	}
}
