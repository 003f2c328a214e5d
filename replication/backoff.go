package replication

import (
	"math/rand/v2"
	"time"
)

// Backoff is a jittered exponential delay: many sidecars restarting together
// must not hit a server in lockstep. It is the project's one backoff (the
// stream's reconnects and holds, the invalidator's retries and polls).
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// Next returns the next delay: between half and all of Min, doubling up to
// Max.
func (b *Backoff) Next() time.Duration {
	if b.cur < b.Min {
		b.cur = b.Min
	} else {
		b.cur = min(b.cur*2, b.Max)
	}
	half := b.cur / 2
	return half + rand.N(half+1)
}

// Reset makes the next delay Min again.
func (b *Backoff) Reset() { b.cur = 0 }
