package invalidator

import (
	"time"

	"github.com/cachesync/cachesync/replication"
	"go.uber.org/zap"
)

// GateConfig configures a gate that polls a PostgreSQL server.
type GateConfig struct {
	// DSN of the server the gate asks: the region's replica for a
	// ReplicaGate, the primary for PrimaryVisibility.
	DSN string
	// PollMin is the first poll interval while waiting (tight: the answer
	// usually comes within milliseconds); it doubles up to PollMax.
	PollMin, PollMax time.Duration
	Logger           *zap.Logger
}

// DefaultGateConfig returns the documented defaults.
func DefaultGateConfig() GateConfig {
	return GateConfig{PollMin: time.Millisecond, PollMax: 50 * time.Millisecond}
}

// open fills defaults and makes the gate's logger and connection; nothing
// connects until the first query.
func (cfg GateConfig) open(name string) (GateConfig, *zap.Logger, *replication.SQLConn) {
	def := DefaultGateConfig()
	if cfg.PollMin <= 0 {
		cfg.PollMin = def.PollMin
	}
	if cfg.PollMax < cfg.PollMin {
		cfg.PollMax = max(def.PollMax, cfg.PollMin)
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	log := cfg.Logger.Named(name)
	return cfg, log, replication.NewSQLConn(cfg.DSN, log)
}
