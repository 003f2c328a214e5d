package invalidator

import (
	"time"

	"github.com/cachesync/cachesync/lease/route"
)

// ServerState is one memcached server as the invalidator sees it, for the
// proxies (through the fleet's gossip) and the dashboard.
type ServerState struct {
	Addr string
	// Up: the last exchange succeeded.
	Up bool
	// State says whether it has every invalidation released so far: only
	// route.StateUp is safe to serve from. Down: its keys wait (or were
	// dropped and are owed as a flush). Catching up: back, delivering the
	// keys it missed. Owes flush: it held more than ServerBacklog keys while
	// down; they were dropped and it gets flush_all before anything past
	// them is acknowledged.
	State route.State
	// Gutter: a server of the gutter pool.
	Gutter bool
	// PendingKeys counts keys released for it and not yet taken for
	// delivery.
	PendingKeys int
}

// Stats is a snapshot for the dashboard and /api/status.
type Stats struct {
	// Invalidations counts keys delivered (after coalescing).
	Invalidations uint64
	// InvalidationsPerSec is the recent delivery rate.
	InvalidationsPerSec float64
	// QueueDepth counts keys waiting for delivery (and the commit markers
	// queued between them); a key owned by a pool server and a gutter server
	// counts once per server once released.
	QueueDepth int
	KeyErrors  uint64
	Truncates  uint64
	// ServersUp lists the pool's servers, then the gutter's.
	ServersUp []ServerState
	// LastDelivered is when the last batch was delivered (zero: never).
	LastDelivered time.Time
}

// Stats returns current counters. Safe for concurrent use.
func (inv *Invalidator) Stats() Stats {
	now := time.Now()
	s := Stats{
		Invalidations:       inv.invalidations.Load(),
		InvalidationsPerSec: inv.rate.rate(now),
		QueueDepth:          inv.queueDepth(),
		KeyErrors:           inv.keyErrors.Load(),
		Truncates:           inv.truncates.Load(),
	}
	for _, sv := range inv.servers {
		s.ServersUp = append(s.ServersUp, sv.state())
	}
	if ns := inv.lastDelivered.Load(); ns != 0 {
		s.LastDelivered = time.Unix(0, ns)
	}
	return s
}

// queueDepth counts keys queued, being batched, waiting for their gate and
// waiting for their servers.
func (inv *Invalidator) queueDepth() int {
	n := int(inv.queued.Load()+inv.batchKeys.Load()) + inv.track.heldKeys()
	for _, s := range inv.servers {
		n += s.pendingKeys()
	}
	return n
}
