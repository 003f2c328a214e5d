package invalidator

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
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

	// last is the newest snapshot read, and when. A committed xid visible
	// to it stays visible to every later snapshot, so it answers first,
	// without a query: a backlog committed before it passes on one query.
	// It is trusted for snapshotReuse only, far less than the 2^32 xids
	// after which a 32-bit xid could mean a newer transaction.
	mu     sync.Mutex
	last   snapshot
	lastAt time.Time
}

// snapshotReuse bounds how long a snapshot answers without a new query.
const snapshotReuse = time.Minute

// NewPrimaryVisibility returns the gate; it connects on first use.
func NewPrimaryVisibility(cfg PrimaryVisibilityConfig) *PrimaryVisibility {
	cfg, log, db := cfg.open("visibility-gate")
	return &PrimaryVisibility{cfg: cfg, log: log, db: db}
}

// snapshotQuery reads a new snapshot: "xmin:xmax:xip,...", as xid8s.
const snapshotQuery = `SELECT pg_current_snapshot()::text`

// Passed blocks until every xid of the oldest of ps is visible to new
// snapshots on the primary (or ctx ends), and returns how many of ps, from
// the oldest, are wholly visible. One snapshot answers for all of them (and
// for later calls, while it covers them), and the xids are checked here, so
// the query stays one small row however many batches wait. It holds while
// the primary is unreachable.
func (g *PrimaryVisibility) Passed(ctx context.Context, ps []Pending) (int, error) {
	g.mu.Lock()
	n := 0
	if time.Since(g.lastAt) < snapshotReuse {
		n = g.last.visiblePrefix(ps)
	}
	g.mu.Unlock()
	if n > 0 {
		return n, nil
	}
	err := backoff(ctx, g.cfg.PollMin, g.cfg.PollMax, func(first bool) (bool, error) {
		var text string
		err := g.db.QueryRow(ctx, snapshotQuery).Scan(&text)
		var snap snapshot
		if err == nil {
			snap, err = parseSnapshot(text)
		}
		if err == nil {
			g.mu.Lock()
			g.last, g.lastAt = snap, time.Now()
			g.mu.Unlock()
			if n = snap.visiblePrefix(ps); n > 0 {
				return true, nil
			}
		}
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		if err != nil && first {
			// SQLConn logs connection loss; a failing query is logged once
			// per wait.
			g.log.Warn("visibility check failed; holding invalidations", zap.Error(fmt.Errorf("visibility: %w", err)))
		}
		return false, nil
	})
	return n, err
}

// snapshot is a pg_snapshot: xids below xmin are finished, xids at or past
// xmax and those in xip are still running.
type snapshot struct {
	xmin, xmax uint64
	xip        map[uint64]struct{}
}

func parseSnapshot(text string) (snapshot, error) {
	parts := strings.SplitN(text, ":", 3)
	if len(parts) != 3 {
		return snapshot{}, fmt.Errorf("snapshot %q: want xmin:xmax:xip", text)
	}
	var s snapshot
	var err error
	if s.xmin, err = strconv.ParseUint(parts[0], 10, 64); err != nil {
		return snapshot{}, fmt.Errorf("snapshot %q: %w", text, err)
	}
	if s.xmax, err = strconv.ParseUint(parts[1], 10, 64); err != nil {
		return snapshot{}, fmt.Errorf("snapshot %q: %w", text, err)
	}
	if parts[2] != "" {
		s.xip = map[uint64]struct{}{}
		for _, f := range strings.Split(parts[2], ",") {
			x, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return snapshot{}, fmt.Errorf("snapshot %q: %w", text, err)
			}
			s.xip[x] = struct{}{}
		}
	}
	return s, nil
}

// visible reports whether a committed 32-bit xid (as the stream carries it)
// is visible to the snapshot. The xid is widened with the epoch of xmax,
// one epoch less when that would put it after xmax (it was assigned before
// the wraparound); then, as pg_visible_in_snapshot, it is visible unless it
// is at or past xmax or in xip.
func (s snapshot) visible(x uint32) bool {
	full := s.xmax>>32<<32 | uint64(x)
	if full > s.xmax && full >= 1<<32 {
		full -= 1 << 32
	}
	if full < s.xmin {
		return true
	}
	if full >= s.xmax {
		return false
	}
	_, running := s.xip[full]
	return !running
}

// visiblePrefix counts the batches of ps, oldest first, whose xids are all
// visible.
func (s snapshot) visiblePrefix(ps []Pending) int {
	for i, p := range ps {
		for _, x := range p.Xids {
			if !s.visible(x) {
				return i
			}
		}
	}
	return len(ps)
}

// Close releases the connection; safe to call more than once.
func (g *PrimaryVisibility) Close() error { return g.db.Close() }
