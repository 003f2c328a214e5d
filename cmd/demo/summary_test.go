package demo

import (
	"errors"
	"testing"
	"time"

	"github.com/cachesync/cachesync/region"
)

func TestSummaryLine(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := newSummary([]string{"east", "west"}, t0)
	inv := func(f float64) *float64 { return &f }
	view := func(hits, misses uint64) region.StatusView {
		return region.StatusView{Regions: []region.RegionSummary{
			{Region: "west", InvalidationsPerSec: inv(12), E2ELag: &region.LagStats{P50: 0.0123, P99: 0.2, Samples: 5},
				Proxy:       &region.ProxyTotals{Hits: hits, Misses: misses},
				Consistency: &region.ConsistencyStatus{Checked: 2000, Inconsistent: 2, Nines: region.Nines(2000, 2)}},
			{Region: "east", InvalidationsPerSec: inv(40), Proxy: &region.ProxyTotals{Hits: hits, Misses: 0}},
		}}
	}
	got := s.line(t0.Add(5*time.Second), 1000, view(90, 10), nil, staleResult{Checked: 400}, nil)
	want := "[5s] writes/s 200 | invalidations/s east 40 west 12 | lag p50/p99 east - west 12.3ms/200ms | consistency east - west 2000/2 3.0 nines | hit rate 94.7% | stale 0 (400 cached values checked)"
	if got != want {
		t.Errorf("line:\n got %s\nwant %s", got, want)
	}
	// The next line's rates are over its own interval only.
	got = s.line(t0.Add(10*time.Second), 1500, view(100, 20), nil, staleResult{}, errors.New("slots behind"))
	want = "[10s] writes/s 100 | invalidations/s east 40 west 12 | lag p50/p99 east - west 12.3ms/200ms | consistency east - west 2000/2 3.0 nines | hit rate 66.7% | stale ? (slots behind)"
	if got != want {
		t.Errorf("line:\n got %s\nwant %s", got, want)
	}
}
