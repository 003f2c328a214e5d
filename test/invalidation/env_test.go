package invalidation

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/cachesync/cachesync/replication"
	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

const (
	db          = "app"
	slot        = "cachesync_test"
	publication = "cachesync"
)

// env is one primary and one memcached.
type env struct {
	pg *cluster.Postgres
	mc *cluster.Memcached
}

func newEnv(t *testing.T, mcOpts ...cluster.MCOption) *env {
	t.Helper()
	e := &env{pg: cluster.StartPostgres(t), mc: cluster.StartMemcached(t, mcOpts...)}
	e.pg.CreateDB(t, db)
	return e
}

// sidecar is the config every test starts from: a short status interval so
// that the slot's confirmed LSN follows deliveries closely.
func (e *env) sidecar(mode string, tables map[string][]string, servers ...string) fleet.SidecarConfig {
	if len(servers) == 0 {
		servers = []string{e.mc.Addr()}
	}
	return fleet.SidecarConfig{
		Source:            e.pg.DSN(db),
		Slot:              slot,
		Publication:       publication,
		Servers:           servers,
		Invalidate:        mode,
		StatusInterval:    100 * time.Millisecond,
		HeartbeatInterval: 200 * time.Millisecond,
		Tables:            tables,
	}
}

func (e *env) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	e.pg.ExecDB(t, db, sql, args...)
}

// insertLSN is "now" on the primary, at or after the end of every
// transaction that has committed.
func (e *env) insertLSN(t testing.TB) lsn {
	t.Helper()
	return mustLSN(t, e.pg.InsertLSN(t, db))
}

// confirmed is the slot's confirmed_flush_lsn (0 when the slot is missing).
func (e *env) confirmed(t testing.TB) lsn {
	t.Helper()
	s := e.pg.QueryString(t, db, "SELECT coalesce((SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1), '0/0')", slot)
	return mustLSN(t, s)
}

// waitConfirmed waits until the sidecar has confirmed at least l: every
// change before l has then been delivered to memcached.
func (e *env) waitConfirmed(t testing.TB, l lsn, timeout time.Duration) {
	t.Helper()
	e.pg.WaitConfirmed(t, db, slot, l.String(), timeout)
}

// waitSlotInactive waits until no walsender serves the slot, so that its
// confirmed LSN can no longer move.
func (e *env) waitSlotInactive(t testing.TB) {
	t.Helper()
	e.pg.WaitSlotInactive(t, db, slot, 30*time.Second)
}

// createSlot makes the publication and the slot before a backlog is
// written, as a running sidecar would have, so that the backlog is in the
// slot and the sidecar does not treat the slot as new (and flush).
func (e *env) createSlot(t testing.TB, tables ...string) {
	t.Helper()
	e.exec(t, "CREATE PUBLICATION "+publication+" FOR TABLE "+strings.Join(tables, ", "))
	e.exec(t, "SELECT pg_create_logical_replication_slot($1, 'pgoutput')", slot)
}

// lsn is a WAL position; comparable as a number.
type lsn = replication.LSN

func mustLSN(t testing.TB, s string) lsn {
	t.Helper()
	l, err := pglogrepl.ParseLSN(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
