package region

import (
	"testing"
	"time"
)

func TestLagWindowQuantilesAndExpiry(t *testing.T) {
	w := NewLagWindow(time.Minute)
	t0 := time.Unix(1000, 0)
	for i := 1; i <= 100; i++ {
		w.Add(t0, time.Duration(i)*time.Millisecond)
	}
	s := w.Stats(t0)
	if s.Samples != 100 || s.P50 != 0.050 || s.P99 != 0.099 || s.Max != 0.100 {
		t.Fatalf("stats = %+v, want 100 samples, p50 50ms, p99 99ms, max 100ms", s)
	}
	w.Add(t0.Add(2*time.Minute), 7*time.Millisecond)
	s = w.Stats(t0.Add(2 * time.Minute))
	if s.Samples != 1 || s.Max != 0.007 {
		t.Fatalf("after expiry stats = %+v, want only the new 7ms sample", s)
	}
	if w.Stats(t0.Add(10*time.Minute)) != nil {
		t.Fatal("an empty window must report nil")
	}
}

func TestLagWindowBounded(t *testing.T) {
	w := NewLagWindow(time.Hour)
	w.MaxSamples = 10
	now := time.Unix(1000, 0)
	for i := 0; i < 1000; i++ {
		w.Add(now, time.Duration(i))
	}
	if got := w.Stats(now).Samples; got != 10 {
		t.Fatalf("kept %d samples, want 10", got)
	}
}
