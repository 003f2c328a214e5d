package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/invalidator"
	"github.com/cachesync/cachesync/replication"
)

// cmdSkip is the operator's way past a change the sidecar holds because its
// key templates cannot name it (a renamed key column, a weakened replica
// identity already written to the WAL). What the sidecar cannot invalidate
// it flushes instead:
//
//  1. read "now" on the primary (pg_current_wal_insert_lsn);
//  2. in a region with a replica, wait until the replica has replayed it,
//     so that no reader refills from data older than the held changes;
//  3. flush every memcached server of the region (pool and gutter);
//  4. move the region's slot to "now" (pg_replication_slot_advance): the
//     held transaction, and every one before "now", is never sent again.
//
// The record is the slot's position, on the primary: the running sidecar
// resumes there when it reconnects (within its hold backoff), and so does a
// restarted one. A change made after "now" that the rules still cannot name
// is held again: fix the table or the config first.
func cmdSkip(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("skip", stderr)
	path := fs.String("config", "", "the sidecar's config file")
	name := fs.String("source", "", "which postgres source (its name:), when the config has several")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long (waiting for the replica, or for the slot)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfigFlag(fs, *path, config.RoleSidecar)
	if err != nil {
		return err
	}
	src, err := pickSource(cfg, *name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, src.Source)
	if err != nil {
		return fmt.Errorf("connect to the primary: %s", replication.ScrubSecrets(err.Error()))
	}
	defer conn.Close(context.Background())
	confirmed, now, err := replication.SlotPosition(ctx, conn, src.Slot)
	if err != nil {
		return err
	}
	if confirmed >= now {
		fmt.Fprintf(stdout, "slot %s has confirmed %s, the primary's current position: nothing is held, nothing done\n", src.Slot, confirmed)
		return nil
	}
	if src.Replica != "" {
		gc := invalidator.DefaultReplicaGateConfig()
		gc.DSN = src.Replica
		g := invalidator.NewReplicaGate(gc)
		defer g.Close()
		fmt.Fprintf(stdout, "waiting for the replica to replay %s\n", now)
		if _, err := g.Passed(ctx, []invalidator.Pending{{Commit: now, End: now}}); err != nil {
			st := g.State()
			return fmt.Errorf("replica did not replay %s (%s): %w", now, st.Problem, err)
		}
	}
	// The sidecar's own invalidator: FlushAll reaches its pool and gutter.
	inv, err := invalidator.New(cfg.Invalidator())
	if err != nil {
		return fmt.Errorf("memcached: %w", err)
	}
	if err := inv.FlushAll(ctx); err != nil {
		return fmt.Errorf("flush the region's memcached (nothing skipped): %w", err)
	}
	servers := append(slices.Clone(cfg.Memcache.Servers), cfg.Memcache.Gutter...)
	fmt.Fprintf(stdout, "flushed %d memcached servers: %v\n", len(servers), servers)
	to, err := replication.AdvanceSlot(ctx, conn, src.Slot, now, *timeout)
	if err != nil {
		return fmt.Errorf("memcached was flushed but the slot was not moved (run skip again): %w", err)
	}
	fmt.Fprintf(stdout, "slot %s moved from %s to %s: the sidecar resumes there when it reconnects (within %s)\n",
		src.Slot, confirmed, to, replication.DefaultConfig().HoldMax)
	return nil
}

// pickSource is the source named name, or the only one.
func pickSource(cfg Config, name string) (config.Source, error) {
	if name == "" && len(cfg.Postgres) == 1 {
		return cfg.Postgres[0], nil
	}
	for _, s := range cfg.Postgres {
		if s.Name == name {
			return s, nil
		}
	}
	return config.Source{}, fmt.Errorf("%w: --source %q: the config has %d sources; name one", errUsage, name, len(cfg.Postgres))
}
