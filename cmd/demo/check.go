package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cachesync/cachesync/cmd/local"
	"github.com/cachesync/cachesync/invalidator/audit"
)

// catchUpTimeout bounds how long the check waits for both regions to
// confirm the writes made before it; a region slower than this is reported,
// not counted as clean.
const catchUpTimeout = 15 * time.Second

// staleResult is one check: how many cached values were compared and how
// many differ from the primary.
type staleResult struct {
	Checked, Stale int
	// Example names one stale key, for the log.
	Example string
}

// staleChecker compares every cached item with the primaries once the
// system has had the chance to invalidate every write: it stops the
// writers, waits until every region's slot on every primary is confirmed
// past that primary's current WAL position (a sidecar confirms only what
// memcached has acknowledged, after the region's replica replayed it), and
// then runs the consistency checker of `cachesync check` (invalidator/audit)
// on each region's memcached, for each shard's rows.
type staleChecker struct {
	work        *workload
	primaryDSNs []string   // by shard
	slots       [][]string // by shard: each region's slot on that primary
	regions     []*regionSetup
}

func newStaleChecker(work *workload, primaryDSNs []string, regions []*regionSetup) *staleChecker {
	c := &staleChecker{work: work, primaryDSNs: primaryDSNs, regions: regions, slots: make([][]string, len(primaryDSNs))}
	for k := range primaryDSNs {
		for _, r := range regions {
			c.slots[k] = append(c.slots[k], r.sidecar.Postgres[k].Slot)
		}
	}
	return c
}

func (c *staleChecker) check(ctx context.Context) (staleResult, error) {
	c.work.pause.Lock()
	defer c.work.pause.Unlock()
	for k, p := range c.work.primaries {
		if err := waitConfirmed(ctx, p, c.slots[k]); err != nil {
			return staleResult{}, err
		}
	}
	var res staleResult
	for _, r := range c.regions {
		for _, dsn := range c.primaryDSNs {
			// Both regions compare with the primaries: west's replicas have
			// replayed everything its slots confirmed.
			acfg, _, err := r.sidecar.Audit(dsn, 1)
			if err != nil {
				return staleResult{}, err
			}
			rep, err := audit.Check(ctx, acfg)
			if err != nil {
				return staleResult{}, fmt.Errorf("check %s cache: %w", r.name, err)
			}
			// Values a reader would be served as hits: stale ones are misses.
			res.Checked += rep.Consistent + rep.Inconsistent
			res.Stale += rep.Inconsistent
			if len(rep.Examples) > 0 {
				res.Example = r.name + " " + rep.Examples[0]
			}
		}
	}
	return res, nil
}

// waitConfirmed polls until every one of slots on primary has confirmed the
// primary's WAL insert position as it was when the writers stopped.
func waitConfirmed(ctx context.Context, primary *pgxpool.Pool, slots []string) error {
	var target string
	if err := primary.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&target); err != nil {
		return fmt.Errorf("primary wal position: %w", err)
	}
	err := local.Poll(ctx, catchUpTimeout, func() error {
		var behind []string
		rows, err := primary.Query(ctx, `SELECT slot_name::text FROM unnest($1::text[]) AS s(slot_name)
			WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots r
				WHERE r.slot_name = s.slot_name AND r.confirmed_flush_lsn >= $2::pg_lsn)`, slots, target)
		if err != nil {
			return fmt.Errorf("slot positions: %w", err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return fmt.Errorf("slot positions: %w", err)
			}
			behind = append(behind, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("slot positions: %w", err)
		}
		if len(behind) > 0 {
			return fmt.Errorf("slots %v not confirmed past %s", behind, target)
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("%w within %s", err, catchUpTimeout)
	}
	return err
}
