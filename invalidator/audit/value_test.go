package audit

import (
	"slices"
	"testing"
	"time"
)

func TestRenderValueDoesNotEncode(t *testing.T) {
	row := map[string]string{"id": "7", "name": "a b/ü"}
	got, err := RenderValue("{id}|{name}|{missing}", row)
	if err != nil || got != "7|a b/ü|" {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, bad := range []string{"{id", "id}", "{}", "{a{b}"} {
		if _, err := RenderValue(bad, row); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
	cols, err := ValueColumns("{id}|{name}|{id}")
	if err != nil || !slices.Equal(cols, []string{"id", "name"}) {
		t.Fatalf("columns %v, %v", cols, err)
	}
}

func TestStalenessSummary(t *testing.T) {
	var s Staleness
	if w := s.Summary(); w.N != 0 || w.Max != 0 {
		t.Fatalf("empty: %+v", w)
	}
	for i := 1; i <= 100; i++ {
		s.Add(time.Duration(i) * time.Millisecond)
	}
	w := s.Summary()
	if w.N != 100 || w.P50 != 50*time.Millisecond || w.P99 != 99*time.Millisecond || w.Max != 100*time.Millisecond {
		t.Fatalf("summary %+v", w)
	}
}

func TestStalenessBoundsMemoryAndKeepsMax(t *testing.T) {
	var s Staleness
	for i := 0; i < 3*maxSamples; i++ {
		s.Add(time.Millisecond)
	}
	s.Add(time.Hour)
	if len(s.samples) != maxSamples {
		t.Fatalf("%d samples kept", len(s.samples))
	}
	if w := s.Summary(); w.Max != time.Hour || w.N != 3*maxSamples+1 || w.P50 != time.Millisecond {
		t.Fatalf("summary %+v", w)
	}
}
