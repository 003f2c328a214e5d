package route

import (
	"time"

	"go.uber.org/zap"
)

// Config configures a Router.
type Config struct {
	// Hash is the ring kind of the pool and of the gutter: "ketama"
	// (default) or "crc32" (lease/ring).
	Hash string
	// Servers are the pool's memcached servers, host:port.
	Servers []string
	// Gutter are the servers that take a down server's keys; empty: none.
	Gutter []string
	// Logger gets one line each time a pool server leaves or rejoins the
	// rotation. Nil: none.
	Logger *zap.Logger
	// Now is the clock that stamps a server's return; nil: time.Now.
	Now func() time.Time
}

// DefaultConfig returns the defaults: ketama, no gutter.
func DefaultConfig() Config {
	return Config{Hash: "ketama"}
}
