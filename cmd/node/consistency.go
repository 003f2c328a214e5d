package node

import (
	"github.com/cachesync/cachesync/invalidator/audit"
	"github.com/cachesync/cachesync/region"
)

// consistencyStatus is the monitors' figures as /api/status shows them,
// summed over the sidecar's sources.
func consistencyStatus(mons ...*audit.Monitor) *region.ConsistencyStatus {
	c := &region.ConsistencyStatus{}
	for _, m := range mons {
		st := m.Stats()
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
	c.Nines = region.Nines(c.Checked, c.Inconsistent)
	c.PresenceNines = region.Nines(c.PresenceChecked, c.PresenceInconsistent)
	return c
}
