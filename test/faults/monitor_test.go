package faults

import (
	"fmt"
	"testing"
	"time"

	"github.com/cachesync/cachesync/region"
	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

// values says what the readers cache per row, for the checker and for the
// sidecars' consistency monitor.
var values = map[string]string{"public.items": "{id}|{version}", "public.bulk": "{id}|{version}"}

// monitorConfig samples every invalidated key: the suite's write rate is
// low enough, and every check is a chance to catch a wrong value.
var monitorConfig = &fleet.ConsistencyConfig{Sample: 1, After: 2 * time.Second, MaxPerSecond: 1000}

// monitorCounts is a region's consistency monitor's counters at one moment.
type monitorCounts struct{ checked, inconsistent uint64 }

// monitorSnapshot reads every region's monitor counters from its sidecar's
// /api/status.
func (w *world) monitorSnapshot(t *testing.T) map[string]monitorCounts {
	t.Helper()
	out := map[string]monitorCounts{}
	for _, r := range w.regions {
		var st region.NodeStatus
		cluster.Eventually(t, 30*time.Second, func() (err error) {
			st, err = r.Sidecar.Status()
			if err == nil && st.Consistency == nil {
				err = fmt.Errorf("%s: no consistency in the status", r.Spec.Name)
			}
			return err
		})
		c := st.Consistency
		out[r.Spec.Name] = monitorCounts{checked: c.Checked + c.PresenceChecked, inconsistent: c.Inconsistent + c.PresenceInconsistent}
	}
	return out
}

// monitorDelta is what the monitor counted between two snapshots; a
// sidecar restarted in between counts from its restart.
func monitorDelta(before, after monitorCounts) monitorCounts {
	if after.checked < before.checked {
		return after
	}
	return monitorCounts{checked: after.checked - before.checked, inconsistent: after.inconsistent - before.inconsistent}
}

func (c monitorCounts) String() string {
	return fmt.Sprintf("%d/%d %s", c.checked, c.inconsistent, region.Nines(c.checked, c.inconsistent))
}
