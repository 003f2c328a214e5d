package audit

import (
	"sync/atomic"
	"time"
)

// Check kinds: a table with a value template is checked by value, one
// without for presence only (a cached key whose row is gone).
const (
	KindValue    = "value"
	KindPresence = "presence"
)

type counts struct {
	checked      [2]atomic.Uint64 // by kindIndex
	inconsistent [2]atomic.Uint64
	unconfirmed  atomic.Uint64
	skipped      atomic.Uint64
	dropped      atomic.Uint64
	errors       atomic.Uint64
}

func kindIndex(kind string) int {
	if kind == KindPresence {
		return 1
	}
	return 0
}

// InconsistentKey is one confirmed inconsistency, for the operator.
type InconsistentKey struct {
	Key   string `json:"key"`
	Table string `json:"table"`
	Kind  string `json:"kind"`
	// Cached and Database are the first bytes of the cached value and of
	// what the database says (NoRow when the row is gone).
	Cached   string    `json:"cached"`
	Database string    `json:"database"`
	At       time.Time `json:"at"`
}

// NoRow is InconsistentKey.Database for a key whose row no longer exists.
const NoRow = "(no row)"

// shownBytes bounds the values an InconsistentKey keeps: the status is
// gossiped to every node.
const shownBytes = 64

// MonitorStats is a snapshot of a Monitor's counters.
type MonitorStats struct {
	// Checked counts completed checks of tables with a value template;
	// Inconsistent the confirmed differences among them.
	Checked, Inconsistent uint64
	// PresenceChecked and PresenceInconsistent are the same for tables
	// checked for presence only.
	PresenceChecked, PresenceInconsistent uint64
	// Unconfirmed counts differences that were gone when read again (a
	// row that changed, an invalidation still on its way); they count as
	// consistent checks.
	Unconfirmed uint64
	// Skipped counts samples that could not be judged: the key no longer
	// belongs to its row, or the table has no identity to look it up by.
	Skipped uint64
	// Dropped counts samples the full queue refused; Errors the checks
	// that failed to read the database or memcached.
	Dropped, Errors uint64
	// Recent lists the last inconsistent keys, newest first.
	Recent []InconsistentKey
}

// Stats returns the monitor's counters. Safe for concurrent use.
func (m *Monitor) Stats() MonitorStats {
	c := &m.counts
	s := MonitorStats{
		Checked: c.checked[0].Load(), Inconsistent: c.inconsistent[0].Load(),
		PresenceChecked: c.checked[1].Load(), PresenceInconsistent: c.inconsistent[1].Load(),
		Unconfirmed: c.unconfirmed.Load(), Skipped: c.skipped.Load(),
		Dropped: c.dropped.Load(), Errors: c.errors.Load(),
	}
	m.mu.Lock()
	s.Recent = append([]InconsistentKey(nil), m.recent...)
	m.mu.Unlock()
	return s
}

// record counts k and keeps it; it returns the monitor's inconsistent
// count so far (both kinds).
func (m *Monitor) record(k InconsistentKey) uint64 {
	m.counts.inconsistent[kindIndex(k.Kind)].Add(1)
	n := m.counts.inconsistent[0].Load() + m.counts.inconsistent[1].Load()
	if m.cfg.Recent == 0 {
		return n
	}
	k.Cached, k.Database = firstBytes(k.Cached), firstBytes(k.Database)
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.recent) < m.cfg.Recent {
		m.recent = append(m.recent, InconsistentKey{})
	}
	copy(m.recent[1:], m.recent)
	m.recent[0] = k
	return n
}

func firstBytes(s string) string {
	if len(s) <= shownBytes {
		return s
	}
	return s[:shownBytes] + "…"
}
