package region

import (
	"testing"
	"time"
)

func TestHistoryRetentionAndGaps(t *testing.T) {
	h := newHistory(10 * time.Second)
	t0 := time.Unix(1000, 0)
	ips := 5.0
	withLag := RegionSummary{Region: "east", E2ELag: &LagStats{P50: 0.1, P99: 0.2, Samples: 3}, InvalidationsPerSec: &ips}
	noLag := RegionSummary{Region: "east"}
	for i := 0; i < 10; i++ {
		s := withLag
		if i%2 == 1 {
			s = noLag
		}
		h.add(t0.Add(time.Duration(i)*2*time.Second), []RegionSummary{s})
	}
	pts := h.since(time.Time{})["east"]
	// Samples at 8..18 s survive a 10 s retention ending at 18 s.
	if len(pts) != 6 || pts[0].At != t0.Add(8*time.Second).UnixMilli() {
		t.Fatalf("points = %d, first at %d", len(pts), pts[0].At)
	}
	if pts[0].E2EP99 == nil || *pts[0].E2EP99 != 0.2 || pts[1].E2EP99 != nil {
		t.Fatalf("want a figure then a gap: %+v %+v", pts[0], pts[1])
	}
	if got := len(h.since(t0.Add(15 * time.Second))["east"]); got != 2 {
		t.Fatalf("since 15s: %d points, want 2", got)
	}
	h.add(t0.Add(time.Hour), []RegionSummary{{Region: "west"}})
	if _, ok := h.since(time.Time{})["east"]; ok {
		t.Fatal("a region with only expired samples is still listed")
	}
}
