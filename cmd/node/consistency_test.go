package node

import (
	"testing"
	"time"

	"github.com/cachesync/cachesync/invalidator/audit"
)

// TestConsistencyOverSources: the sources' counts add up, and the recent
// keys of all sources are the newest first, as many as one monitor keeps.
func TestConsistencyOverSources(t *testing.T) {
	t0 := time.Now()
	recent := func(name string, ages ...int) []audit.InconsistentKey {
		var out []audit.InconsistentKey
		for _, a := range ages { // newest first, as a monitor keeps them
			out = append(out, audit.InconsistentKey{Key: name, At: t0.Add(-time.Duration(a) * time.Second)})
		}
		return out
	}
	keep := audit.DefaultMonitorConfig().Recent
	var ages1, ages2 []int
	for i := range keep {
		ages1, ages2 = append(ages1, 2*i), append(ages2, 2*i+1)
	}
	c := consistencyStatus(
		audit.MonitorStats{Checked: 10, Inconsistent: 2, PresenceChecked: 3, Errors: 1, Recent: recent("shard1", ages1...)},
		audit.MonitorStats{Checked: 5, Inconsistent: 1, PresenceInconsistent: 1, Dropped: 4, Recent: recent("shard2", ages2...)},
	)
	if c.Checked != 15 || c.Inconsistent != 3 || c.PresenceChecked != 3 || c.PresenceInconsistent != 1 || c.Errors != 1 || c.Dropped != 4 {
		t.Fatalf("sums %+v", c)
	}
	if len(c.Recent) != keep {
		t.Fatalf("%d recent keys, want %d", len(c.Recent), keep)
	}
	for i, k := range c.Recent {
		want := "shard1"
		if i%2 == 1 {
			want = "shard2"
		}
		if k.Key != want || !k.At.Equal(t0.Add(-time.Duration(i)*time.Second)) {
			t.Fatalf("recent[%d] = %s at %s, want %s at -%ds (newest first over both sources)", i, k.Key, t0.Sub(k.At), want, i)
		}
	}
	one := consistencyStatus(audit.MonitorStats{Recent: recent("only", 0, 5)})
	if len(one.Recent) != 2 || one.Recent[0].Key != "only" {
		t.Fatalf("single source: recent %+v", one.Recent)
	}
}
