package invalidation

import (
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

const (
	bulkRows   = 1_000_000 // the million-row transaction: ~40 s here (UPDATE 7.5 s, drain 17 s)
	bulkExtras = 10_000    // rows it leaves alone
)

// TestBulkUpdate is one transaction that changes bulkRows rows, in
// delete mode: every one of its keys is deleted, the keys of the rows it
// did not touch are not.
func TestBulkUpdate(t *testing.T) {
	e := newEnv(t, cluster.WithMemoryMB(512))
	e.exec(t, `CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL)`)
	e.exec(t, "INSERT INTO items SELECT g, 0 FROM generate_series(1, $1::int) g", bulkRows+bulkExtras)
	fleet.StartSidecar(t, e.sidecar("delete", map[string][]string{"public.items": {"item:{id}"}}))

	mc := cluster.DialKeys(t, e.mc.Addr())
	touched := cluster.KeyRange("item:", 1, bulkRows)
	untouched := cluster.KeyRange("item:", bulkRows+1, bulkRows+bulkExtras)
	mc.SetAll(t, touched)
	mc.SetAll(t, untouched)

	start := time.Now()
	e.exec(t, "UPDATE items SET v = v + 1 WHERE id <= $1", bulkRows)
	end := e.insertLSN(t)
	t.Logf("UPDATE of %d rows took %s", bulkRows, time.Since(start).Round(time.Millisecond))
	// Confirmed means delivered: check every key once, after it.
	e.waitConfirmed(t, end, 2*time.Minute)
	t.Logf("sidecar confirmed it %s after the UPDATE began", time.Since(start).Round(time.Millisecond))
	if err := mc.AllInvalidated(touched); err != nil {
		t.Fatalf("slot confirmed %s past the UPDATE, but: %v", e.confirmed(t), err)
	}
	mc.RequireValid(t, untouched)
}
