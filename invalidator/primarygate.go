package invalidator

import (
	"context"
	"fmt"
	"time"

	"github.com/cachesync/cachesync/replication"
	"go.uber.org/zap"
)

// PrimaryVisibilityConfig configures a PrimaryVisibility.
type PrimaryVisibilityConfig = GateConfig

// DefaultPrimaryVisibilityConfig returns the documented defaults.
func DefaultPrimaryVisibilityConfig() PrimaryVisibilityConfig { return DefaultGateConfig() }

// PrimaryVisibility is the gate of a region that reads the primary. A
// commit reaches the replication stream a moment before the committing
// backend leaves the proc array; an invalidation delivered in that moment
// lets a reader refill the old row under a valid lease. So it waits until
// every transaction of the batch is visible to a new snapshot.
type PrimaryVisibility struct {
	cfg PrimaryVisibilityConfig
	log *zap.Logger
	db  *replication.SQLConn
}

// NewPrimaryVisibility returns the gate; it connects on first use.
func NewPrimaryVisibility(cfg PrimaryVisibilityConfig) *PrimaryVisibility {
	cfg, log, db := cfg.open("visibility-gate")
	return &PrimaryVisibility{cfg: cfg, log: log, db: db}
}

// visibleQuery widens each 32-bit xid to an xid8 with the epoch of the
// snapshot's xmax (one epoch less when that would put it after xmax: it was
// assigned before the wraparound). pg_visible_in_snapshot is false for xids
// in xip and for xids >= xmax, both of which are still running.
const visibleQuery = `
WITH s AS (SELECT pg_current_snapshot() AS snap),
     m AS (SELECT snap, pg_snapshot_xmax(snap)::text::bigint AS xmax FROM s)
SELECT bool_and(pg_visible_in_snapshot(
         (CASE WHEN ((m.xmax >> 32) << 32 | x) > m.xmax
               THEN ((m.xmax >> 32) - 1) << 32 | x
               ELSE (m.xmax >> 32) << 32 | x END)::text::xid8, m.snap))
FROM m, unnest($1::bigint[]) AS x`

// Wait blocks until every xid of p is visible to new snapshots on the
// primary, or ctx ends. It holds while the primary is unreachable.
func (g *PrimaryVisibility) Wait(ctx context.Context, p Pending) error {
	if len(p.Xids) == 0 {
		return nil
	}
	xids := make([]int64, len(p.Xids))
	for i, x := range p.Xids {
		xids[i] = int64(x)
	}
	return backoff(ctx, g.cfg.PollMin, g.cfg.PollMax, func(wait time.Duration) (bool, error) {
		var visible bool
		err := g.db.QueryRow(ctx, visibleQuery, xids).Scan(&visible)
		if err == nil && visible {
			return true, nil
		}
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		if err != nil && wait == g.cfg.PollMin {
			// SQLConn logs connection loss; a failing query is logged once
			// per Wait.
			g.log.Warn("visibility check failed; holding invalidations", zap.Error(fmt.Errorf("visibility: %w", err)))
		}
		return false, nil
	})
}

// Close releases the connection; safe to call more than once.
func (g *PrimaryVisibility) Close() error { return g.db.Close() }
