package backend

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Config configures a Pool.
type Config struct {
	// Servers are the memcached servers, host:port. Index i of this slice is
	// the server index used by Do.
	Servers []string
	// ConnsPerServer is how many pipelined connections each server gets.
	ConnsPerServer int
	// Timeout bounds dialing, writing, and waiting for each reply.
	Timeout time.Duration
	// ProbeInterval is how often a down server is redialled.
	ProbeInterval time.Duration
	// MaxPending bounds requests written but not yet answered per connection.
	MaxPending int
	// OnChange, when set, is told each time server i goes down (a failed
	// connection, or a first dial that failed) or comes back up. It runs
	// on the pool's goroutines and must not block.
	OnChange   func(server int, up bool)
	Logger     *zap.Logger
	Registerer prometheus.Registerer
}

// DefaultConfig returns the defaults: 2 connections per server, 1s timeout,
// 100ms probes.
func DefaultConfig() Config {
	return Config{
		ConnsPerServer: 2,
		Timeout:        time.Second,
		ProbeInterval:  100 * time.Millisecond,
		MaxPending:     4096,
	}
}
