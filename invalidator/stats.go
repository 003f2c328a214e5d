package invalidator

import "time"

// ServerState is one memcached server's reachability.
type ServerState struct {
	Addr string
	Up   bool
}

// Stats is a snapshot for the dashboard and /api/status.
type Stats struct {
	// Invalidations counts keys delivered (after coalescing).
	Invalidations uint64
	// InvalidationsPerSec is the recent delivery rate.
	InvalidationsPerSec float64
	// QueueDepth counts keys waiting for delivery (and the commit markers
	// queued between them).
	QueueDepth int
	KeyErrors  uint64
	Truncates  uint64
	ServersUp  []ServerState
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
		s.ServersUp = append(s.ServersUp, ServerState{Addr: sv.addr, Up: sv.up.Load()})
	}
	if ns := inv.lastDelivered.Load(); ns != 0 {
		s.LastDelivered = time.Unix(0, ns)
	}
	return s
}

func (inv *Invalidator) queueDepth() int {
	return int(inv.queued.Load() + inv.batchKeys.Load())
}
