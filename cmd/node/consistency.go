package node

import (
	"slices"

	"github.com/cachesync/cachesync/invalidator/audit"
	"github.com/cachesync/cachesync/region"
)

// consistencyStatus is the monitors' figures as /api/status shows them,
// summed over the sidecar's sources. Recent stays what one monitor keeps:
// the newest inconsistent keys of all sources, newest first, as many as a
// monitor remembers (config.Monitor starts from the defaults), so a sidecar
// of many sources gossips no longer a status.
func consistencyStatus(stats ...audit.MonitorStats) *region.ConsistencyStatus {
	c := &region.ConsistencyStatus{}
	for _, st := range stats {
		c.Checked += st.Checked
		c.Inconsistent += st.Inconsistent
		c.PresenceChecked += st.PresenceChecked
		c.PresenceInconsistent += st.PresenceInconsistent
		c.Unconfirmed += st.Unconfirmed
		c.Dropped += st.Dropped
		c.Errors += st.Errors
		for _, k := range st.Recent {
			c.Recent = append(c.Recent, region.InconsistentKey(k))
		}
	}
	if len(stats) > 1 {
		slices.SortStableFunc(c.Recent, func(a, b region.InconsistentKey) int { return b.At.Compare(a.At) })
		c.Recent = c.Recent[:min(len(c.Recent), audit.DefaultMonitorConfig().Recent)]
	}
	c.Nines = region.Nines(c.Checked, c.Inconsistent)
	c.PresenceNines = region.Nines(c.PresenceChecked, c.PresenceInconsistent)
	return c
}
