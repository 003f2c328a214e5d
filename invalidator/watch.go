package invalidator

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"

	"github.com/cachesync/cachesync/replication"
)

// WatchConfig configures Watch.
type WatchConfig struct {
	// DSN is a normal DSN of the primary.
	DSN string
	// Publication is the stream's publication.
	Publication string
	// Interval between two looks at the catalog: a few small catalog
	// queries per configured table.
	Interval time.Duration
}

// DefaultWatchConfig returns the documented defaults.
func DefaultWatchConfig() WatchConfig { return WatchConfig{Interval: 5 * time.Second} }

// watchState is what the last look saw of one configured table.
type watchState struct {
	seen    bool
	exists  bool
	leaves  []replication.Table
	problem string
}

// Watch looks at the catalog every Interval, on a connection of its own,
// until ctx ends, for what can change under a running stream:
//
//   - A configured table that left the publication (dropped and re-created)
//     is added again. replication.SyncPublication writes, in the same
//     transaction, the message that makes every region flush its memcached
//     at that point of the stream (Message): the table's changes before it
//     were never streamed.
//   - A partition attached to or detached from a configured table is
//     logged, and every leaf's replica identity is checked again.
//
// Each problem (a table that does not exist, an identity that does not
// carry a template's columns) is logged once when it appears and once when
// it is gone, and listed in Stats().SchemaProblems meanwhile. Watch returns
// nil when ctx ends, and an error wrapping replication.ErrRefused when the
// publication can no longer publish a configured table as configured.
func (inv *Invalidator) Watch(ctx context.Context, cfg WatchConfig) error {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultWatchConfig().Interval
	}
	db := replication.NewSQLConn(cfg.DSN, inv.log.Named("catalog"))
	defer db.Close()
	state := map[replication.Table]*watchState{}
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	failing := ""
	for {
		err := db.Do(ctx, func(ctx context.Context, conn *pgx.Conn) error {
			return inv.look(ctx, conn, cfg.Publication, state)
		})
		if errors.Is(err, replication.ErrRefused) {
			return err
		}
		var pe *pgconn.PgError
		switch {
		case ctx.Err() != nil:
		case err != nil && !errors.As(err, &pe):
			// The connection: SQLConn logs its state.
		case err != nil && err.Error() != failing:
			// A statement that fails (a role that may not add the table to
			// the publication) leaves a table unpublished: loud, once.
			failing = err.Error()
			inv.log.Error("catalog watch failing; retrying", zap.String("publication", cfg.Publication),
				zap.String("error", replication.ScrubSecrets(failing)))
		case err == nil && failing != "":
			failing = ""
			inv.log.Info("catalog watch working again", zap.String("publication", cfg.Publication))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// look syncs the publication and checks each configured table once.
func (inv *Invalidator) look(ctx context.Context, conn *pgx.Conn, pub string, state map[replication.Table]*watchState) error {
	res, err := replication.SyncPublication(ctx, conn.PgConn(), pub, inv.Tables())
	if err != nil {
		return err
	}
	if res.ViaRootSet {
		inv.log.Error("publication published partitions under their own names: switched it to publish_via_partition_root = true; every region flushes its memcached at this point",
			zap.String("publication", pub))
	}
	for _, t := range res.Added {
		inv.log.Error("configured table had left the publication (dropped and re-created?): its changes were not streamed; added it again, every region flushes its memcached at this point",
			zap.Stringer("table", t), zap.String("publication", pub))
	}
	var problems []string
	for _, name := range inv.Tables() {
		tc, err := inspectTable(ctx, conn, inv.tables[name])
		if err != nil {
			return err
		}
		st := state[name]
		if st == nil {
			st = &watchState{}
			state[name] = st
		}
		inv.compare(name, st, tc)
		if st.problem != "" {
			problems = append(problems, st.problem)
		}
	}
	inv.schemaMu.Lock()
	inv.schemaProblems = problems
	inv.schemaMu.Unlock()
	return nil
}

// compare logs what changed for table name since the last look.
func (inv *Invalidator) compare(name replication.Table, st *watchState, tc tableCatalog) {
	first := !st.seen
	st.seen = true
	if tc.exists && st.exists {
		for _, l := range tc.leaves {
			if !slices.Contains(st.leaves, l) {
				inv.log.Info("partition attached: its changes arrive as the table's; its replica identity is checked",
					zap.Stringer("table", name), zap.Stringer("partition", l))
			}
		}
		for _, l := range st.leaves {
			if !slices.Contains(tc.leaves, l) {
				inv.log.Info("partition detached (or dropped): its changes are no longer the table's, and no longer invalidated",
					zap.Stringer("table", name), zap.Stringer("partition", l))
			}
		}
	}
	st.exists, st.leaves = tc.exists, tc.leaves
	problem := ""
	if tc.problem != nil {
		problem = tc.problem.Error()
		if !tc.exists {
			problem += ": its changes are not streamed; once it is created again it is added to the publication and the region's memcached flushed"
		}
	}
	if problem == st.problem {
		return
	}
	// At start CheckCatalog has refused any problem: one seen now is new.
	if problem != "" {
		inv.log.Error("configured table cannot be invalidated as configured", zap.Stringer("table", name), zap.String("problem", problem))
	} else if !first {
		inv.log.Info("configured table problem resolved", zap.Stringer("table", name))
	}
	st.problem = problem
}

// SchemaProblems are the configured tables' problems Watch saw last, each
// naming the table and the fix.
func (inv *Invalidator) SchemaProblems() []string {
	inv.schemaMu.Lock()
	defer inv.schemaMu.Unlock()
	return slices.Clone(inv.schemaProblems)
}
