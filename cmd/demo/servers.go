package demo

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cachesync/cachesync/cmd/local"
)

// appDB is the database the demo's app uses (on the primary, and through
// streaming replication on the replica).
const appDB = "app"

// Rows is how many items the app's table holds (ids 1 to Rows): small
// enough that the stale check reads every key of both regions in one round
// trip each.
const Rows = 200

// The app's table and what the app caches per row (tables.<t>.value): the
// readers' fills and the stale check (invalidator/audit, as in `cachesync
// check`) render the value with the same function.
const (
	itemsTable = "public.items"
	itemValue  = "{id}|{name}|{price}"
)

var itemKeys = []string{"item:{id}", "item_by_name:{name}"}

// servers are the real servers of the demo.
type servers struct {
	primary, replica *local.Postgres
	mcEast, mcWest   *local.Memcached
}

// startServers starts, inside dir, the primary, creates the schema (before
// the base backup, so the replica starts with it), then the replica and
// memcached. On error, what did start is stopped.
func startServers(dir string) (*servers, error) {
	s := &servers{}
	err := s.start(dir)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("start servers: %w", err), s.Close())
	}
	return s, nil
}

func (s *servers) start(dir string) error {
	var err error
	if s.primary, err = local.StartPostgres(dir); err != nil {
		return err
	}
	if err := s.primary.CreateDB(appDB); err != nil {
		return err
	}
	if err := s.primary.Exec(appDB, schema()); err != nil {
		return err
	}
	if s.replica, err = s.primary.StartReplica(dir); err != nil {
		return err
	}
	if s.mcEast, err = local.StartMemcached(); err != nil {
		return err
	}
	s.mcWest, err = local.StartMemcached()
	return err
}

// endpoints is where the servers are: the app database's DSN on the
// primary and on the replica, and each region's memcached.
type endpoints struct {
	primary, replica string
	mcEast, mcWest   string
}

func (s *servers) endpoints() endpoints {
	return endpoints{primary: s.primary.DSN(appDB), replica: s.replica.DSN(appDB), mcEast: s.mcEast.Addr(), mcWest: s.mcWest.Addr()}
}

// Close stops every server that started, replica before primary.
func (s *servers) Close() error {
	var errs []error
	for _, m := range []*local.Memcached{s.mcWest, s.mcEast} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	for _, p := range []*local.Postgres{s.replica, s.primary} {
		if p != nil {
			errs = append(errs, p.Close())
		}
	}
	return errors.Join(errs...)
}

// schema is the app's table. REPLICA IDENTITY FULL makes UPDATEs carry the
// old row, so a rename invalidates the old item_by_name key too; the
// publication is made here so the two sidecars do not race to create it.
func schema() string {
	var b strings.Builder
	fmt.Fprintf(&b, `CREATE TABLE %[1]s (id int PRIMARY KEY, name text NOT NULL, price int NOT NULL);
ALTER TABLE %[1]s REPLICA IDENTITY FULL;
CREATE PUBLICATION cachesync FOR TABLE %[1]s;
`, itemsTable)
	fmt.Fprintf(&b, "INSERT INTO %s SELECT i, 'item-' || i, 100 + i FROM generate_series(1, %d) AS i;\n", itemsTable, Rows)
	return b.String()
}
