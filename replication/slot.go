package replication

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"
)

// ErrRefused marks a configuration of the server or of the slot that the
// stream will not work with; retrying cannot help until an operator acts.
var ErrRefused = errors.New("replication refused")

const pluginName = "pgoutput"

type slotInfo struct {
	exists                                bool
	slotType, plugin, database, walStatus string
	confirmed, restart                    LSN
}

func inspectSlot(ctx context.Context, conn *pgconn.PgConn, slot string) (slotInfo, error) {
	rows, err := queryText(ctx, conn, `SELECT slot_type, coalesce(plugin, ''), coalesce(database::text, ''), coalesce(wal_status, ''),
		coalesce(confirmed_flush_lsn, '0/0')::text, coalesce(restart_lsn, '0/0')::text
		FROM pg_replication_slots WHERE slot_name = `+quoteLiteral(slot))
	if err != nil {
		return slotInfo{}, fmt.Errorf("inspect slot %s: %w", slot, err)
	}
	if len(rows) == 0 {
		return slotInfo{}, nil
	}
	r := rows[0]
	info := slotInfo{exists: true, slotType: r[0], plugin: r[1], database: r[2], walStatus: r[3]}
	if info.confirmed, err = pglogrepl.ParseLSN(r[4]); err == nil {
		info.restart, err = pglogrepl.ParseLSN(r[5])
	}
	if err != nil {
		return slotInfo{}, fmt.Errorf("inspect slot %s: %w", slot, err)
	}
	return info, nil
}

func checkWALLevel(ctx context.Context, conn *pgconn.PgConn) error {
	rows, err := queryText(ctx, conn, "SHOW wal_level")
	if err != nil {
		return fmt.Errorf("show wal_level: %w", err)
	}
	if len(rows) == 1 && rows[0][0] == "logical" {
		return nil
	}
	level := "?"
	if len(rows) == 1 {
		level = rows[0][0]
	}
	return fmt.Errorf("%w: the primary runs with wal_level = %s; logical replication needs wal_level = logical in postgresql.conf, then a restart of PostgreSQL", ErrRefused, level)
}

// slotPlan is what prepareSlot decided for this session.
type slotPlan struct {
	// reason is why the slot must be announced (OnNewSlot) before it is
	// consumed; "" when it can be consumed as it is.
	reason string
	// failover is set when the server is another history than the last
	// session's: the tracker's positions must be forgotten.
	failover bool
	// resume is the kept slot's confirmed position: the server sends
	// nothing before it, so it may be confirmed again (an operator may have
	// advanced it past a held change: confirming less would move it back).
	resume LSN
}

// prepareSlot checks the server and the slot and creates what is missing.
// A slot is announced when it had to be created, when the server is another
// history than the last session's (a failover: the process's positions are
// void), and when its flush marker says that the process that created or
// took it over died before its announcement returned.
func (s *Stream) prepareSlot(ctx context.Context, conn *pgconn.PgConn) (slotPlan, error) {
	var plan slotPlan
	if err := checkWALLevel(ctx, conn); err != nil {
		return plan, err
	}
	sys, err := pglogrepl.IdentifySystem(ctx, conn)
	if err != nil {
		return plan, fmt.Errorf("identify system: %w", err)
	}
	s.tr.connected(sys.XLogPos)
	hist := History{SystemID: sys.SystemID, Timeline: sys.Timeline}
	if err := EnsurePublication(ctx, conn, s.cfg.Publication, s.cfg.Tables); err != nil {
		return plan, err
	}
	slot, marker := s.cfg.Slot, flushMarker(s.cfg.Slot)
	info, err := inspectSlot(ctx, conn, slot)
	if err != nil {
		return plan, err
	}
	mark, err := inspectSlot(ctx, conn, marker)
	if err != nil {
		return plan, err
	}
	s.mu.Lock()
	prev := s.history
	s.mu.Unlock()
	if prev.SystemID != "" && prev != hist {
		s.log.Warn("failover: the source is another server history; the positions of the old one are void, starting over as on a new slot",
			zap.String("old", prev.String()), zap.String("new", hist.String()), zap.String("host", conn.Conn().RemoteAddr().String()))
		plan.failover = true
		plan.reason = "failover from " + prev.String() + " to " + hist.String() + ": positions of the old history are void"
	}
	create := !info.exists
	switch {
	case !info.exists:
		plan.reason = "slot " + slot + " did not exist (first start, dropped, or a failover to a server without it): changes made before it was created are unknown"
	case info.slotType != "logical" || info.plugin != pluginName || info.database != sys.DBName:
		return plan, fmt.Errorf("%w: slot %s exists as a %s slot with plugin %q on database %q, want a logical slot with plugin %s on database %q; drop it (SELECT pg_drop_replication_slot('%s')) or configure another slot name",
			ErrRefused, slot, info.slotType, info.plugin, info.database, pluginName, sys.DBName, slot)
	case info.walStatus == "lost":
		s.log.Error("replication slot was invalidated by PostgreSQL (wal_status = lost, usually max_slot_wal_keep_size): invalidations since it fell behind are lost; dropping and recreating it, the cache will be flushed before consuming")
		plan.reason, create = "slot "+slot+" was lost (wal_status = lost): the WAL it needed was removed", true
	default:
		why, err := untrustedSlot(ctx, conn, slot, info, sys)
		if err != nil {
			return plan, err
		}
		if why != "" {
			s.log.Error("replication slot is not trustworthy on this server: dropping and recreating it, the cache will be flushed before consuming", zap.String("reason", why))
			plan.reason, create = why, true
		} else if mark.exists && plan.reason == "" {
			plan.reason = "the process that created or took over slot " + slot + " stopped before flushing (its marker " + marker + " remains)"
		}
	}
	if !create {
		plan.resume = info.confirmed
	}
	if plan.reason == "" {
		s.setHistory(hist)
		return plan, nil
	}
	// The marker goes first: from here until OnNewSlot returns, a crash
	// must leave a trace that the next process finds.
	if !mark.exists {
		if _, err := queryText(ctx, conn, "SELECT pg_create_physical_replication_slot("+quoteLiteral(marker)+")"); err != nil && !isDuplicate(err) {
			return plan, fmt.Errorf("create flush marker %s: %w", marker, err)
		}
	}
	s.setHistory(hist)
	if info.exists && create {
		if err := pglogrepl.DropReplicationSlot(ctx, conn, slot, pglogrepl.DropReplicationSlotOptions{}); err != nil {
			return plan, fmt.Errorf("drop slot %s: %w", slot, err)
		}
	}
	if create {
		_, err = pglogrepl.CreateReplicationSlot(ctx, conn, slot, pluginName, pglogrepl.CreateReplicationSlotOptions{
			Mode:           pglogrepl.LogicalReplication,
			SnapshotAction: "NOEXPORT_SNAPSHOT",
		})
		// A duplicate is another consumer creating it at the same moment:
		// announcing it here too costs one more flush.
		if err != nil && !isDuplicate(err) {
			return plan, fmt.Errorf("create slot %s: %w", slot, err)
		}
		s.log.Warn("created replication slot", zap.String("reason", plan.reason))
	}
	return plan, nil
}

func isDuplicate(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42710"
}

// untrustedSlot says why an existing slot cannot be resumed on this server
// ("" when it can). A slot is server-local (PostgreSQL 15 does not copy
// slots to replicas), so one that claims positions this server never wrote,
// or that is older than the server's timeline, came with a copied data
// directory or a restored backup: its positions are another history's.
func untrustedSlot(ctx context.Context, conn *pgconn.PgConn, slot string, info slotInfo, sys pglogrepl.IdentifySystemResult) (string, error) {
	if info.confirmed > sys.XLogPos {
		return fmt.Sprintf("slot %s has confirmed %s, beyond this server's WAL (%s): it belongs to another history (a restored backup, or a failover that confirmed the old primary's positions)",
			slot, info.confirmed, sys.XLogPos), nil
	}
	start, err := timelineStart(ctx, conn, sys.Timeline)
	if err != nil {
		return "", err
	}
	if info.restart != 0 && info.restart < start {
		return fmt.Sprintf("slot %s is older than timeline %d, which began at %s (the slot's restart_lsn is %s): it was made on another history (copied with the data directory of a promoted server)",
			slot, sys.Timeline, start, info.restart), nil
	}
	return "", nil
}

// announceNewSlot runs OnNewSlot and then drops the flush marker. When
// OnNewSlot fails the marker stays, so the next attempt, or the next
// process, announces the slot again.
func (s *Stream) announceNewSlot(ctx context.Context, conn *pgconn.PgConn, reason string) error {
	if s.cfg.OnNewSlot != nil {
		if err := s.cfg.OnNewSlot(ctx, reason); err != nil {
			return fmt.Errorf("new slot %s: %w", s.cfg.Slot, err)
		}
	}
	dctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	marker := flushMarker(s.cfg.Slot)
	err := pglogrepl.DropReplicationSlot(dctx, conn, marker, pglogrepl.DropReplicationSlotOptions{})
	var pe *pgconn.PgError
	if err != nil && !(errors.As(err, &pe) && pe.Code == "42704") {
		return fmt.Errorf("drop flush marker %s: %w", marker, err)
	}
	return nil
}
