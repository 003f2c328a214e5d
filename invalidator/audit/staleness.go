package audit

import (
	"fmt"
	"github.com/cachesync/cachesync/region"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// maxSamples bounds the memory of a Staleness: beyond it, samples are kept
// by reservoir sampling, so percentiles stay unbiased and Max stays exact.
const maxSamples = 10000

// Staleness collects staleness windows: for a sampled write, the time from
// its commit until a region's cache stopped serving the old value. Safe for
// concurrent use.
type Staleness struct {
	mu      sync.Mutex
	samples []time.Duration
	seen    int
	max     time.Duration
}

// Add records one window.
func (s *Staleness) Add(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen++
	s.max = max(s.max, d)
	if len(s.samples) < maxSamples {
		s.samples = append(s.samples, d)
		return
	}
	if i := rand.IntN(s.seen); i < maxSamples {
		s.samples[i] = d
	}
}

// Window summarises staleness windows.
type Window struct {
	N             int
	P50, P99, Max time.Duration
}

func (w Window) String() string {
	if w.N == 0 {
		return "no samples"
	}
	return fmt.Sprintf("n=%d p50=%s p99=%s max=%s", w.N, round(w.P50), round(w.P99), round(w.Max))
}

func round(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }

// Summary returns the windows' p50, p99 and max (nearest-rank percentiles).
func (s *Staleness) Summary() Window {
	s.mu.Lock()
	sorted := slices.Clone(s.samples)
	w := Window{N: s.seen, Max: s.max}
	s.mu.Unlock()
	if len(sorted) == 0 {
		return w
	}
	slices.Sort(sorted)
	w.P50 = region.Percentile(sorted, 0.50)
	w.P99 = region.Percentile(sorted, 0.99)
	return w
}
