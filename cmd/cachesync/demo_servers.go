package main

import (
	"fmt"
	"strings"

	"github.com/cachesync/cachesync/test/cluster"
)

// demoDB is the database the demo's app uses (on the primary, and through
// streaming replication on the replica).
const demoDB = "app"

// demoRows is how many items the schema starts with: small enough that the
// stale check reads every key of both regions in one round trip each.
const demoRows = 200

// demoServers are the real servers of the demo.
type demoServers struct {
	primary, replica *cluster.Postgres
	mcEast, mcWest   *cluster.Memcached
}

// startServers starts the primary, creates the schema (before the base
// backup, so the replica starts with it), then the replica and memcached.
func startServers(tb *demoTB) (*demoServers, error) {
	s := &demoServers{}
	err := tb.start("start servers", func() {
		s.primary = cluster.StartPostgres(tb)
		s.primary.CreateDB(tb, demoDB)
		s.primary.ExecDB(tb, demoDB, demoSchema())
		s.replica = s.primary.StartReplica(tb)
		s.mcEast = cluster.StartMemcached(tb)
		s.mcWest = cluster.StartMemcached(tb)
	})
	return s, err
}

// demoSchema is the app's table. REPLICA IDENTITY FULL makes UPDATEs carry
// the old row, so a rename invalidates the old item_by_name key too; the
// publication is made here so the two sidecars do not race to create it.
func demoSchema() string {
	var b strings.Builder
	b.WriteString(`CREATE TABLE public.items (id int PRIMARY KEY, name text NOT NULL, price int NOT NULL);
ALTER TABLE public.items REPLICA IDENTITY FULL;
CREATE PUBLICATION cachesync FOR TABLE public.items;
`)
	fmt.Fprintf(&b, "INSERT INTO public.items SELECT i, 'item-' || i, 100 + i FROM generate_series(1, %d) AS i;\n", demoRows)
	return b.String()
}

// demoItemValue is what the demo's app caches for a row (tables.<t>.value):
// the readers' fills and the stale check (invalidator/audit, as in
// `cachesync check`) render it with the same function.
const demoItemValue = "{id}|{name}|{price}"
