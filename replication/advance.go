package replication

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SlotPosition is a slot's confirmed_flush_lsn and the server's insert
// position, read together.
func SlotPosition(ctx context.Context, conn *pgx.Conn, slot string) (confirmed, now LSN, err error) {
	var c, n *string
	err = conn.QueryRow(ctx, `SELECT (SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1), pg_current_wal_insert_lsn()::text`, slot).Scan(&c, &n)
	if err != nil {
		return 0, 0, fmt.Errorf("read slot %s: %w", slot, err)
	}
	if c == nil {
		return 0, 0, fmt.Errorf("slot %s does not exist on this server", slot)
	}
	if confirmed, err = pglogrepl.ParseLSN(*c); err == nil {
		now, err = pglogrepl.ParseLSN(*n)
	}
	return confirmed, now, err
}

// AdvanceSlot moves slot's confirmed position to to
// (pg_replication_slot_advance): every transaction that committed before it
// is never sent to the slot's consumer again. A consumer streaming from the
// slot is disconnected first (the slot must be inactive to move); it
// resumes at the new position when it reconnects. It retries for up to
// timeout while a consumer keeps taking the slot back, and returns the
// position the slot reached (PostgreSQL stops at its WAL flush position).
func AdvanceSlot(ctx context.Context, conn *pgx.Conn, slot string, to LSN, timeout time.Duration) (LSN, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	b := Backoff{Min: 10 * time.Millisecond, Max: time.Second}
	for {
		var end string
		_, err := conn.Exec(ctx, `SELECT pg_terminate_backend(active_pid, 5000) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, slot)
		if err == nil {
			err = conn.QueryRow(ctx, `SELECT end_lsn::text FROM pg_replication_slot_advance($1, $2::text::pg_lsn)`, slot, to.String()).Scan(&end)
		}
		var pe *pgconn.PgError
		if err == nil {
			return pglogrepl.ParseLSN(end)
		}
		if !errors.As(err, &pe) || pe.Code != "55006" { // 55006: the consumer took the slot back
			return 0, fmt.Errorf("advance slot %s to %s: %w", slot, to, err)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("advance slot %s to %s: its consumer keeps taking it: %w", slot, to, err)
		case <-time.After(b.Next()):
		}
	}
}
