package replication

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
)

// History names one server history: the system identifier of the cluster
// (initdb's, kept by its physical replicas) and the timeline (a new one
// begins at each promotion or point-in-time recovery). LSNs compare only
// within one history: a promoted replica's WAL diverges from the old
// primary's at the switch point, and its positions beyond it mean other
// changes.
type History struct {
	SystemID string
	Timeline int32
}

func (h History) String() string {
	if h.SystemID == "" {
		return "unknown"
	}
	return fmt.Sprintf("system %s timeline %d", h.SystemID, h.Timeline)
}

// timelineStart returns where timeline tli began on the server: the switch
// point recorded in its history file (0 for timeline 1, which has none).
func timelineStart(ctx context.Context, conn *pgconn.PgConn, tli int32) (LSN, error) {
	if tli <= 1 {
		return 0, nil
	}
	res, err := pglogrepl.TimelineHistory(ctx, conn, tli)
	if err != nil {
		return 0, fmt.Errorf("timeline history %d: %w", tli, err)
	}
	return parseTimelineStart(res.Content)
}

// parseTimelineStart reads a timeline history file ("parentTLI<TAB>switchLSN
// <TAB>reason" per line) and returns the last switch point: where the
// newest timeline forked off its parent.
func parseTimelineStart(content []byte) (LSN, error) {
	var start LSN
	sc := bufio.NewScanner(bytes.NewReader(content))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return 0, fmt.Errorf("timeline history line %q: want parent and switch point", line)
		}
		if _, err := strconv.ParseUint(f[0], 10, 32); err != nil {
			return 0, fmt.Errorf("timeline history line %q: %w", line, err)
		}
		lsn, err := pglogrepl.ParseLSN(f[1])
		if err != nil {
			return 0, fmt.Errorf("timeline history line %q: %w", line, err)
		}
		start = lsn
	}
	return start, sc.Err()
}

// flushMarker names the slot's marker: a physical slot that reserves no
// WAL, created before a slot is created (or taken over on another history)
// and dropped only once OnNewSlot has returned. It lives on the server, so
// a process killed in between leaves it for the next one to find: the
// flush was not done.
func flushMarker(slot string) string {
	const suffix = "_flushing"
	return slot[:min(len(slot), 63-len(suffix))] + suffix
}
