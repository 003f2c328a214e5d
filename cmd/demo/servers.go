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

// servers are the real servers of the demo: the primaries (shards), a
// replica of each, and a memcached per region.
type servers struct {
	primaries, replicas []*local.Postgres
	mcEast, mcWest      *local.Memcached
}

// startServers starts, inside dir, each primary, creates its part of the
// schema (before the base backup, so the replica starts with it), then its
// replica, then memcached. On error, what did start is stopped.
func startServers(dir string, shards int) (*servers, error) {
	s := &servers{}
	err := s.start(dir, shards)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("start servers: %w", err), s.Close())
	}
	return s, nil
}

func (s *servers) start(dir string, shards int) error {
	for k := range shards {
		p, err := local.StartPostgres(dir)
		if err != nil {
			return err
		}
		s.primaries = append(s.primaries, p)
		if err := p.CreateDB(appDB); err != nil {
			return err
		}
		if err := p.Exec(appDB, schema(k, shards)); err != nil {
			return err
		}
		r, err := p.StartReplica(dir)
		if err != nil {
			return err
		}
		s.replicas = append(s.replicas, r)
	}
	var err error
	if s.mcEast, err = local.StartMemcached(); err != nil {
		return err
	}
	s.mcWest, err = local.StartMemcached()
	return err
}

// endpoints is where the servers are: the app database's DSN on each
// primary and on its replica, and each region's memcached.
type endpoints struct {
	primaries, replicas []string
	mcEast, mcWest      string
}

func (s *servers) endpoints() endpoints {
	e := endpoints{mcEast: s.mcEast.Addr(), mcWest: s.mcWest.Addr()}
	for k := range s.primaries {
		e.primaries = append(e.primaries, s.primaries[k].DSN(appDB))
		e.replicas = append(e.replicas, s.replicas[k].DSN(appDB))
	}
	return e
}

// Close stops every server that started, replicas before primaries.
func (s *servers) Close() error {
	var errs []error
	for _, m := range []*local.Memcached{s.mcWest, s.mcEast} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	for _, group := range [][]*local.Postgres{s.replicas, s.primaries} {
		for i := len(group) - 1; i >= 0; i-- {
			errs = append(errs, group[i].Close())
		}
	}
	return errors.Join(errs...)
}

// shardOf is the shard (index of the primary) that holds item id: ids
// are dealt round-robin, 1 to shard 0, 2 to shard 1, ...
func shardOf(id, shards int) int { return (id - 1) % shards }

// schema is shard k's part of the app's table (its ids, see shardOf).
// REPLICA IDENTITY FULL makes UPDATEs carry the old row, so a rename
// invalidates the old item_by_name key too; the publication is made here so
// the two sidecars do not race to create it.
func schema(k, shards int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `CREATE TABLE %[1]s (id int PRIMARY KEY, name text NOT NULL, price int NOT NULL);
ALTER TABLE %[1]s REPLICA IDENTITY FULL;
CREATE PUBLICATION cachesync FOR TABLE %[1]s;
`, itemsTable)
	fmt.Fprintf(&b, "INSERT INTO %s SELECT i, 'item-' || i, 100 + i FROM generate_series(1, %d) AS i WHERE (i - 1) %% %d = %d;\n",
		itemsTable, Rows, shards, k)
	return b.String()
}
