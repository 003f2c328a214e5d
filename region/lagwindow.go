package region

import (
	"math"
	"slices"
	"sync"
	"time"
)

// LagWindow keeps lag samples of the last Span and summarises them. It is
// bounded: at most MaxSamples are kept, the oldest dropped first, so a burst
// of heartbeats cannot grow memory.
type LagWindow struct {
	Span       time.Duration
	MaxSamples int

	mu      sync.Mutex
	samples []lagSample
}

type lagSample struct {
	at  time.Time
	lag time.Duration
}

// NewLagWindow keeps span worth of samples (at most 4096).
func NewLagWindow(span time.Duration) *LagWindow {
	return &LagWindow{Span: span, MaxSamples: 4096}
}

// Add records one lag sample observed at time at.
func (w *LagWindow) Add(at time.Time, lag time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.samples = append(w.samples, lagSample{at, lag})
	w.trim(at)
}

func (w *LagWindow) trim(now time.Time) {
	drop := 0
	for drop < len(w.samples) && (now.Sub(w.samples[drop].at) > w.Span || len(w.samples)-drop > w.MaxSamples) {
		drop++
	}
	if drop > 0 {
		w.samples = append(w.samples[:0], w.samples[drop:]...)
	}
}

// Stats summarises the samples still in the window at now; nil when empty.
func (w *LagWindow) Stats(now time.Time) *LagStats {
	w.mu.Lock()
	w.trim(now)
	lags := make([]time.Duration, len(w.samples))
	for i, s := range w.samples {
		lags[i] = s.lag
	}
	w.mu.Unlock()
	if len(lags) == 0 {
		return nil
	}
	slices.Sort(lags)
	return &LagStats{
		P50: Percentile(lags, 0.50).Seconds(), P99: Percentile(lags, 0.99).Seconds(),
		Max: lags[len(lags)-1].Seconds(), Samples: len(lags),
	}
}

// Percentile is the nearest-rank q-quantile (0 < q <= 1) of sorted
// durations; 0 for none. Every lag and staleness figure cachesync prints
// uses it, so they agree on what "p99" means.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
