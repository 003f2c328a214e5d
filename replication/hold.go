package replication

import (
	"fmt"
	"strings"
	"time"
)

// HoldError is what a Handler returns (possibly wrapped) for a change it
// cannot handle and must not skip: a relation whose columns or replica
// identity no longer name every key. The stream stops before that change,
// retries with a long backoff (the change is not skipped: every retry
// replays it), logs once per state change, and reports the hold in
// StreamStatus until the stream gets past it.
type HoldError struct {
	// Table and Columns name what cannot be named.
	Table   string
	Columns []string
	// Reason says what is wrong; Fix what to change for the stream to
	// resume on its own.
	Reason, Fix string
}

func (e *HoldError) Error() string {
	return fmt.Sprintf("%s (fix: %s)", e.Reason, e.Fix)
}

// Hold is a held change as StreamStatus reports it.
type Hold struct {
	Table   string
	Columns []string
	Reason  string
	// Fix is the first way out (from the handler); Skip the second (from
	// Config.HoldAdvice).
	Fix, Skip string
	// Position is the held transaction's commit LSN (or the message's
	// position outside a transaction).
	Position LSN
	Since    time.Time
}

// String is the hold in one line: what, where, and both ways out.
func (h *Hold) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "held at %s: %s; way out (a): %s", h.Position, h.Reason, h.Fix)
	if h.Skip != "" {
		fmt.Fprintf(&b, "; way out (b): %s", h.Skip)
	}
	return b.String()
}

func (h *Hold) same(o *Hold) bool {
	return h != nil && o != nil && h.Reason == o.Reason && h.Position == o.Position
}
