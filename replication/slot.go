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
}

func inspectSlot(ctx context.Context, conn *pgconn.PgConn, slot string) (slotInfo, error) {
	rows, err := queryText(ctx, conn, `SELECT slot_type, coalesce(plugin, ''), coalesce(database::text, ''), coalesce(wal_status, '')
		FROM pg_replication_slots WHERE slot_name = `+quoteLiteral(slot))
	if err != nil {
		return slotInfo{}, fmt.Errorf("inspect slot %s: %w", slot, err)
	}
	if len(rows) == 0 {
		return slotInfo{}, nil
	}
	r := rows[0]
	return slotInfo{exists: true, slotType: r[0], plugin: r[1], database: r[2], walStatus: r[3]}, nil
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

// prepareSlot checks the server and the slot and creates what is missing.
// It returns a non-empty reason when the slot had to be created.
func (s *Stream) prepareSlot(ctx context.Context, conn *pgconn.PgConn) (string, error) {
	if err := checkWALLevel(ctx, conn); err != nil {
		return "", err
	}
	sys, err := pglogrepl.IdentifySystem(ctx, conn)
	if err != nil {
		return "", fmt.Errorf("identify system: %w", err)
	}
	if err := EnsurePublication(ctx, conn, s.cfg.Publication, s.cfg.Tables); err != nil {
		return "", err
	}
	slot := s.cfg.Slot
	info, err := inspectSlot(ctx, conn, slot)
	if err != nil {
		return "", err
	}
	reason := "slot " + slot + " did not exist (first start, or dropped): changes made before it was created are unknown"
	if info.exists {
		if info.slotType != "logical" || info.plugin != pluginName || info.database != sys.DBName {
			return "", fmt.Errorf("%w: slot %s exists as a %s slot with plugin %q on database %q, want a logical slot with plugin %s on database %q; drop it (SELECT pg_drop_replication_slot('%s')) or configure another slot name",
				ErrRefused, slot, info.slotType, info.plugin, info.database, pluginName, sys.DBName, slot)
		}
		if info.walStatus != "lost" {
			return "", nil
		}
		s.log.Error("replication slot was invalidated by PostgreSQL (wal_status = lost, usually max_slot_wal_keep_size): invalidations since it fell behind are lost; dropping and recreating it, the cache will be flushed before consuming")
		if err := pglogrepl.DropReplicationSlot(ctx, conn, slot, pglogrepl.DropReplicationSlotOptions{}); err != nil {
			return "", fmt.Errorf("drop lost slot %s: %w", slot, err)
		}
		reason = "slot " + slot + " was lost (wal_status = lost): the WAL it needed was removed"
	}
	_, err = pglogrepl.CreateReplicationSlot(ctx, conn, slot, pluginName, pglogrepl.CreateReplicationSlotOptions{
		Mode:           pglogrepl.LogicalReplication,
		SnapshotAction: "NOEXPORT_SNAPSHOT",
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42710" {
		// Another consumer created it at the same moment; it announces it.
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("create slot %s: %w", slot, err)
	}
	s.log.Warn("created replication slot", zap.String("reason", reason))
	return reason, nil
}

// announceNewSlot runs OnNewSlot; when it fails the slot is dropped so that
// the next attempt creates and announces it again instead of consuming a
// slot whose gap nobody handled.
func (s *Stream) announceNewSlot(ctx context.Context, conn *pgconn.PgConn, reason string) error {
	if s.cfg.OnNewSlot == nil {
		return nil
	}
	err := s.cfg.OnNewSlot(ctx, reason)
	if err == nil {
		return nil
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), setupTimeout)
	defer cancel()
	if derr := pglogrepl.DropReplicationSlot(dctx, conn, s.cfg.Slot, pglogrepl.DropReplicationSlotOptions{}); derr != nil {
		// The slot stays: remember to announce it on the next attempt.
		s.pendingNewSlot = reason
		return fmt.Errorf("new slot %s: %w (dropping it failed too: %v)", s.cfg.Slot, err, derr)
	}
	return fmt.Errorf("new slot %s: %w", s.cfg.Slot, err)
}
