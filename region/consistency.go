package region

import (
	"fmt"
	"math"
	"time"
)

// ConsistencyStatus is a sidecar's consistency monitor: sampled
// invalidated keys re-read from memcached some time after their
// invalidation and compared with the database the region reads (its
// sources summed).
type ConsistencyStatus struct {
	// Checked and Inconsistent count the checks of tables with a value
	// template (the cached value against the row's).
	Checked      uint64 `json:"checked"`
	Inconsistent uint64 `json:"inconsistent"`
	// Nines is the share of Checked that was consistent, written as nines
	// (see Nines); nil before the first check.
	Nines *NinesFigure `json:"nines,omitempty"`
	// PresenceChecked and PresenceInconsistent count the checks of tables
	// without a value template: a live key whose row is gone.
	PresenceChecked      uint64       `json:"presence_checked"`
	PresenceInconsistent uint64       `json:"presence_inconsistent"`
	PresenceNines        *NinesFigure `json:"presence_nines,omitempty"`
	// Unconfirmed differences were gone when read again; Dropped samples
	// found the monitor's queue full; Errors are reads that failed.
	Unconfirmed uint64 `json:"unconfirmed"`
	Dropped     uint64 `json:"dropped"`
	Errors      uint64 `json:"errors"`
	// Recent lists the last inconsistent keys, newest first.
	Recent []InconsistentKey `json:"recent,omitempty"`
}

// InconsistentKey is a confirmed inconsistency, for the operator.
type InconsistentKey struct {
	Key   string `json:"key"`
	Table string `json:"table"`
	Kind  string `json:"kind"` // "value" or "presence"
	// Cached and Database are the first bytes of each.
	Cached   string    `json:"cached"`
	Database string    `json:"database"`
	At       time.Time `json:"at"`
}

// NinesFigure is a consistency ratio written as nines.
type NinesFigure struct {
	Nines float64 `json:"nines"`
	// AtLeast: no check was inconsistent, so the figure is what the sample
	// can show (log10 of the checks), not a measurement of a failure rate.
	AtLeast bool `json:"at_least"`
}

// Nines is the share of checks that were consistent, written as nines, as
// Polaris reports it: 0.9999 is 4 nines, -log10(inconsistent/checked),
// rounded down to a tenth so it never overstates. With no inconsistency
// the ratio is 1 and its nines infinite; what the sample shows is then "at
// least log10(checked)" (1000 clean checks: at least 3 nines), and the
// figure says so with AtLeast. Nil before the first check.
func Nines(checked, inconsistent uint64) *NinesFigure {
	if checked == 0 {
		return nil
	}
	if inconsistent == 0 {
		return &NinesFigure{Nines: floorTenth(math.Log10(float64(checked))), AtLeast: true}
	}
	return &NinesFigure{Nines: floorTenth(-math.Log10(float64(min(inconsistent, checked)) / float64(checked)))}
}

// floorTenth rounds down to a tenth; the epsilon keeps 4 from becoming 3.9
// through floating point.
func floorTenth(v float64) float64 { return math.Floor(v*10+1e-9) / 10 }

// String is "4.3 nines", or "≥ 3.0 nines" when no check failed.
func (n *NinesFigure) String() string {
	if n == nil {
		return "no checks"
	}
	if n.AtLeast {
		return fmt.Sprintf("≥ %.1f nines", n.Nines)
	}
	return fmt.Sprintf("%.1f nines", n.Nines)
}
