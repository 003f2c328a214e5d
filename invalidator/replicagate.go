package invalidator

import (
	"context"
	"errors"
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

	mu sync.Mutex
	up bool
	// problem says why the replica cannot gate ("" while up).
	problem   string
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

const replayQuery = `SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,
	COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)::float8`

// ErrNotReplica marks a replica DSN that points at a server out of recovery.
var ErrNotReplica = errors.New("not a replica")

// notReplica is the refusal for a replica DSN that reaches a primary.
func (g *ReplicaGate) notReplica() error {
	return fmt.Errorf("postgres.replica %s is %w (pg_is_in_recovery is false): point it at this region's streaming replica, or remove it in the primary's region", replication.RedactDSN(g.cfg.DSN), ErrNotReplica)
}

// CheckInRecovery asks the replica once whether it is in recovery: an error
// wrapping ErrNotReplica when it is not, the connection's error when it
// cannot be asked, nil when it is a replica.
func (g *ReplicaGate) CheckInRecovery(ctx context.Context) error {
	var inRecovery bool
	if err := g.db.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
		return fmt.Errorf("ask the replica whether it is in recovery: %w", err)
	}
	if !inRecovery {
		return g.notReplica()
	}
	return nil
}

// covered counts the batches of ps, oldest first, that replay releases.
func covered(replay replication.LSN, ps []Pending) int {
	n := 0
	for n < len(ps) && replayed(replay, ps[n]) {
		n++
	}
	return n
}

// Passed blocks until the replica has replayed the oldest of ps (or ctx
// ends) and returns how many of ps its replay position covers. One poll
// answers for every batch at or below the position; the last position seen
// answers first, without a poll.
func (g *ReplicaGate) Passed(ctx context.Context, ps []Pending) (int, error) {
	g.mu.Lock()
	n := covered(g.replay, ps)
	g.mu.Unlock()
	if n > 0 {
		return n, nil
	}
	err := backoff(ctx, g.cfg.PollMin, g.cfg.PollMax, func(bool) (bool, error) {
		replay, err := g.poll(ctx)
		if err == nil {
			if n = covered(replay, ps); n > 0 {
				return true, nil
			}
		}
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		return false, nil
	})
	return n, err
}

// poll reads the replica's replay position. SQLConn logs connection state
// changes; the gate logs its own (unavailable, not a replica, available),
// once each. A replica out of recovery (promoted, or a primary's DSN) no
// longer follows the primary: its replay position says nothing about the
// primary's commits, so the gate holds as if it were down.
func (g *ReplicaGate) poll(ctx context.Context) (replication.LSN, error) {
	var text *string
	var lag float64
	inRecovery := true
	err := g.db.QueryRow(ctx, replayQuery).Scan(&inRecovery, &text, &lag)
	if err == nil && !inRecovery {
		err = g.notReplica()
	}
	var lsn replication.LSN
	if err == nil && text != nil {
		lsn, err = pglogrepl.ParseLSN(*text)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		problem := "replica unreachable: invalidations are held"
		if errors.Is(err, ErrNotReplica) {
			problem = "replica is not in recovery (promoted, or not a replica): invalidations are held; " + err.Error()
		}
		if problem != g.problem {
			g.log.Warn("replica cannot gate: holding invalidations until it replays", zap.String("problem", problem), zap.Error(err))
		}
		g.up, g.problem, g.lastCheck = false, problem, time.Now()
		return 0, fmt.Errorf("replica replay position: %w", err)
	}
	if !g.up && !g.lastCheck.IsZero() {
		g.log.Info("replica available again")
	}
	g.up, g.problem, g.lastCheck = true, "", time.Now()
	if lsn > g.replay {
		g.replay = lsn
	}
	g.lag = time.Duration(lag * float64(time.Second))
	return g.replay, nil
}

// ReplicaState is the replica as the gate last saw it.
type ReplicaState struct {
	Up bool
	// Problem says why the gate holds while !Up: unreachable, or out of
	// recovery.
	Problem string
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
	return ReplicaState{Up: g.up, Problem: g.problem, ReplayLSN: g.replay, Lag: g.lag, CheckedAt: g.lastCheck}
}

// Refresh polls the replica once (for status pages while no batch waits).
func (g *ReplicaGate) Refresh(ctx context.Context) ReplicaState {
	_, _ = g.poll(ctx) // the state records the error
	return g.State()
}

// Close releases the connection; safe to call more than once.
func (g *ReplicaGate) Close() error { return g.db.Close() }
