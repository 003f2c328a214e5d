package region

import (
	"sync"
	"time"
)

// HistoryPoint is one sample of a region's lag figures; nil where nothing
// reported a figure at that time, so charts show a gap rather than a zero.
type HistoryPoint struct {
	At                  int64    `json:"t"` // unix milliseconds
	E2EP50              *float64 `json:"e2e_p50"`
	E2EP99              *float64 `json:"e2e_p99"`
	ReplicaLagSeconds   *float64 `json:"replica_lag_seconds"`
	ReplicaLagBytes     *float64 `json:"replica_lag_bytes"`
	RetainedWALBytes    *float64 `json:"retained_wal_bytes"`
	InvalidationsPerSec *float64 `json:"invalidations_per_sec"`
}

// history keeps the fleet's samples in memory for retention; a restart
// starts empty, which the charts show as a short line.
type history struct {
	mu        sync.Mutex
	retention time.Duration
	regions   map[string][]HistoryPoint
}

func newHistory(retention time.Duration) *history {
	return &history{retention: retention, regions: map[string][]HistoryPoint{}}
}

func (h *history) add(at time.Time, sums []RegionSummary) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cut := at.Add(-h.retention).UnixMilli()
	for _, s := range sums {
		pts := append(h.regions[s.Region], pointOf(at, s))
		i := 0
		for i < len(pts) && pts[i].At < cut {
			i++
		}
		if i > 0 {
			// Copying keeps the backing array from growing forever.
			pts = append([]HistoryPoint(nil), pts[i:]...)
		}
		h.regions[s.Region] = pts
	}
	for r, pts := range h.regions {
		if len(pts) > 0 && pts[len(pts)-1].At < cut {
			delete(h.regions, r)
		}
	}
}

// since returns a copy of the samples taken at or after t.
func (h *history) since(t time.Time) map[string][]HistoryPoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	from := t.UnixMilli()
	out := make(map[string][]HistoryPoint, len(h.regions))
	for r, pts := range h.regions {
		i := 0
		for i < len(pts) && pts[i].At < from {
			i++
		}
		out[r] = append([]HistoryPoint(nil), pts[i:]...)
	}
	return out
}

func pointOf(at time.Time, s RegionSummary) HistoryPoint {
	p := HistoryPoint{At: at.UnixMilli()}
	f := func(v float64) *float64 { return &v }
	if l := s.E2ELag; l != nil && l.Samples > 0 {
		p.E2EP50, p.E2EP99 = f(l.P50), f(l.P99)
	}
	if r := s.Replica; r != nil && r.Up {
		p.ReplicaLagSeconds, p.ReplicaLagBytes = f(r.LagSeconds), f(float64(r.LagBytes))
	}
	if sl := s.Slot; sl != nil {
		p.RetainedWALBytes = f(float64(sl.RetainedWALBytes))
	}
	if s.InvalidationsPerSec != nil {
		p.InvalidationsPerSec = f(*s.InvalidationsPerSec)
	}
	return p
}
