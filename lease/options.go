package lease

import "time"

type options struct {
	serveStale  bool
	timeout     time.Duration
	maxIdle     int
	minBackoff  time.Duration
	maxBackoff  time.Duration
	dialTimeout time.Duration
}

func defaultOptions() options {
	return options{
		serveStale:  true,
		timeout:     time.Second,
		maxIdle:     8,
		minBackoff:  2 * time.Millisecond,
		maxBackoff:  50 * time.Millisecond,
		dialTimeout: time.Second,
	}
}

// Option configures a Client.
type Option func(*options)

// WithServeStale sets whether a reader that did not win the lease may get
// the stale value (default true); when false it waits for the fill.
func WithServeStale(b bool) Option { return func(o *options) { o.serveStale = b } }

// WithTimeout bounds each round trip to the proxy (default 1s); the
// context's deadline applies too.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithMaxIdleConns sets how many idle connections are kept (default 8).
func WithMaxIdleConns(n int) Option { return func(o *options) { o.maxIdle = n } }

// WithBackoff sets the wait between lease-gets while someone else fills
// (default 2ms doubling to 50ms).
func WithBackoff(min, max time.Duration) Option {
	return func(o *options) { o.minBackoff, o.maxBackoff = min, max }
}
