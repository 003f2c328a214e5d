package invalidator

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cachesync/cachesync/replication"
	"github.com/jackc/pglogrepl"
	"go.uber.org/zap"
)

// ReplicaGateConfig configures a ReplicaGate.
type ReplicaGateConfig = GateConfig

// DefaultReplicaGateConfig returns the documented defaults.
func DefaultReplicaGateConfig() ReplicaGateConfig { return DefaultGateConfig() }

// ReplicaGate holds a batch until the region's replica has replayed its
// commit: pg_last_wal_replay_lsn() > Commit (the commit record's start), or
// >= End. A replica reporting exactly Commit may not show the row yet. While
// the replica is unreachable the gate holds: delivering early would let a
// reader refill the old row from the lagging replica.
type ReplicaGate struct {
	cfg ReplicaGateConfig
	log *zap.Logger
	db  *replication.SQLConn

	mu        sync.Mutex
	up        bool
	replay    replication.LSN
	lag       time.Duration
	lastCheck time.Time
}

// NewReplicaGate returns a gate for cfg.DSN; it connects on first use.
func NewReplicaGate(cfg ReplicaGateConfig) *ReplicaGate {
	cfg, log, db := cfg.open("replica-gate")
	return &ReplicaGate{cfg: cfg, log: log, db: db}
}

func replayed(replay replication.LSN, p Pending) bool {
	return replay > p.Commit || (p.End != 0 && replay >= p.End)
}

const replayQuery = `SELECT pg_last_wal_replay_lsn()::text,
	COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)::float8`

// Wait blocks until the replica has replayed p's commit or ctx ends.
func (g *ReplicaGate) Wait(ctx context.Context, p Pending) error {
	g.mu.Lock()
	done := replayed(g.replay, p)
	g.mu.Unlock()
	if done {
		return nil
	}
	return backoff(ctx, g.cfg.PollMin, g.cfg.PollMax, func(time.Duration) (bool, error) {
		replay, err := g.poll(ctx)
		if err == nil && replayed(replay, p) {
			return true, nil
		}
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		return false, nil
	})
}

// poll reads the replica's replay position. SQLConn logs connection state
// changes; a replica that answers but is not in recovery is logged here.
func (g *ReplicaGate) poll(ctx context.Context) (replication.LSN, error) {
	var text *string
	var lag float64
	err := g.db.QueryRow(ctx, replayQuery).Scan(&text, &lag)
	if err == nil && text == nil {
		err = fmt.Errorf("pg_last_wal_replay_lsn() is NULL: the replica DSN points at a primary")
	}
	var lsn replication.LSN
	if err == nil {
		lsn, err = pglogrepl.ParseLSN(*text)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		if g.up || g.lastCheck.IsZero() {
			g.log.Warn("replica unavailable: holding invalidations until it replays", zap.Error(err))
		}
		g.up, g.lastCheck = false, time.Now()
		return 0, fmt.Errorf("replica replay position: %w", err)
	}
	if !g.up && !g.lastCheck.IsZero() {
		g.log.Info("replica available again")
	}
	g.up, g.lastCheck = true, time.Now()
	if lsn > g.replay {
		g.replay = lsn
	}
	g.lag = time.Duration(lag * float64(time.Second))
	return g.replay, nil
}

// ReplicaState is the replica as the gate last saw it.
type ReplicaState struct {
	Up bool
	// ReplayLSN is the highest replay position seen.
	ReplayLSN replication.LSN
	// Lag is now() minus the last replayed transaction's commit time, as
	// the replica reports it (it grows while the primary is idle; the
	// heartbeats keep it honest).
	Lag time.Duration
	// CheckedAt is the time of the last poll (zero: never).
	CheckedAt time.Time
}

// State returns what the last poll saw; Refresh polls now.
func (g *ReplicaGate) State() ReplicaState {
	g.mu.Lock()
	defer g.mu.Unlock()
	return ReplicaState{Up: g.up, ReplayLSN: g.replay, Lag: g.lag, CheckedAt: g.lastCheck}
}

// Refresh polls the replica once (for status pages while no batch waits).
func (g *ReplicaGate) Refresh(ctx context.Context) ReplicaState {
	_, _ = g.poll(ctx) // the state records the error
	return g.State()
}

// Close releases the connection; safe to call more than once.
func (g *ReplicaGate) Close() error { return g.db.Close() }
