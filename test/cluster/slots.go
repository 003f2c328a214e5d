package cluster

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// WaitConfirmed polls until slot on p has confirmed at least lsn.
func (p *Postgres) WaitConfirmed(t testing.TB, db, slot, lsn string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error {
		ok, err := p.queryString(db, "SELECT COALESCE(confirmed_flush_lsn >= $1::pg_lsn, false)::text FROM pg_replication_slots WHERE slot_name = $2", lsn, slot)
		if err != nil {
			return err
		}
		if ok != "true" {
			return fmt.Errorf("slot %s has not confirmed %s yet", slot, lsn)
		}
		return nil
	})
}

// WaitSlotInactive polls until no walsender serves slot on p, so that its
// confirmed LSN can no longer move. A missing slot counts as not inactive.
func (p *Postgres) WaitSlotInactive(t TB, db, slot string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error {
		active, err := p.queryString(db, "SELECT coalesce((SELECT active::text FROM pg_replication_slots WHERE slot_name = $1), 'missing')", slot)
		if err != nil {
			return err
		}
		if active != "false" {
			return fmt.Errorf("slot %s active = %s", slot, active)
		}
		return nil
	})
}

// InsertLSN is the primary p's current WAL insert position ("now"): at or
// after the end of every transaction that has committed.
func (p *Postgres) InsertLSN(t TB, db string) string {
	t.Helper()
	return p.QueryString(t, db, "SELECT pg_current_wal_insert_lsn()::text")
}

// WaitReplayed polls until the replica p has replayed lsn.
func (p *Postgres) WaitReplayed(t testing.TB, db, lsn string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error {
		ok, err := p.queryString(db, "SELECT (pg_last_wal_replay_lsn() >= $1::pg_lsn)::text", lsn)
		if err != nil {
			return err
		}
		if ok != "true" {
			return fmt.Errorf("replica has not replayed %s", lsn)
		}
		return nil
	})
}

// SetPrimaryAddr points a replica's streaming connection at addr (for
// example a TCPProxy in front of the primary). primary_conninfo is
// reloadable on PostgreSQL 15: the WAL receiver restarts with it.
func (p *Postgres) SetPrimaryAddr(t testing.TB, addr string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("set primary addr: %v", err)
	}
	p.Exec(t, fmt.Sprintf("ALTER SYSTEM SET primary_conninfo = 'host=%s port=%s user=postgres'", host, port))
	p.Exec(t, "SELECT pg_reload_conf()")
}
