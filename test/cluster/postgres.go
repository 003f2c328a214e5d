package cluster

import (
	"fmt"
	"time"

	"github.com/cachesync/cachesync/cmd/local"
)

// PGBinDir is where the PostgreSQL 15 server binaries are installed.
const PGBinDir = local.PGBinDir

// Postgres is one PostgreSQL server (a primary or a streaming replica); the
// methods without a TB are local.Postgres's.
type Postgres struct {
	*local.Postgres
}

// PGOption configures StartPostgres.
type PGOption = local.PGOption

// WithPGConf sets a postgresql.conf parameter; it overrides the defaults.
func WithPGConf(key, value string) PGOption { return local.WithPGConf(key, value) }

// ReplicaOption configures StartReplica.
type ReplicaOption = local.ReplicaOption

// WithApplyDelay sets recovery_min_apply_delay: the replica receives WAL at
// once but replays each commit only d after it was made.
func WithApplyDelay(d time.Duration) ReplicaOption { return local.WithApplyDelay(d) }

// WithReplicaConf sets a postgresql.conf parameter on the replica.
func WithReplicaConf(key, value string) ReplicaOption { return local.WithReplicaConf(key, value) }

// StartPostgres initialises and starts a primary on a free port. It is
// stopped and its files removed at t.Cleanup.
func StartPostgres(t TB, opts ...PGOption) *Postgres {
	t.Helper()
	// os.TempDir, not t.TempDir: the postgres user cannot reach the latter.
	lp, err := local.StartPostgres("", opts...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return atCleanup(t, lp)
}

// StartReplica takes a base backup of p and starts it as an asynchronous
// streaming hot standby on a free port. It returns once the replica accepts
// connections and reports pg_is_in_recovery().
func (p *Postgres) StartReplica(t TB, opts ...ReplicaOption) *Postgres {
	t.Helper()
	lp, err := p.Postgres.StartReplica("", opts...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return atCleanup(t, lp)
}

// Promote ends recovery on the replica p (pg_promote, which waits for the
// promotion): it becomes a primary on a new timeline.
func (p *Postgres) Promote(t TB) {
	t.Helper()
	if err := p.Postgres.Promote(); err != nil {
		t.Fatalf("%v", err)
	}
}

func atCleanup(t TB, lp *local.Postgres) *Postgres {
	closeAtCleanup(t, fmt.Sprintf("%s (port %d) log tail", lp.Name(), lp.Port()),
		func() string { return lp.LogTail(LogTailLines) }, lp.Close)
	return &Postgres{lp}
}

// Kill SIGKILLs the postmaster, as in a crash, and returns once every
// backend is gone too, so that Start can reuse the data directory at once.
func (p *Postgres) Kill(t TB) {
	t.Helper()
	if err := p.Postgres.Kill(); err != nil {
		t.Fatalf("%v", err)
	}
}

// Stop shuts the server down cleanly (fast shutdown).
func (p *Postgres) Stop(t TB) {
	t.Helper()
	if err := p.Postgres.Stop(); err != nil {
		t.Fatalf("%v", err)
	}
}

// Start restarts a stopped or killed server on the same port with the same
// data; after a Kill it runs crash recovery first.
func (p *Postgres) Start(t TB) {
	t.Helper()
	if err := p.Postgres.Start(); err != nil {
		t.Fatalf("%v", err)
	}
}

// Exec runs sql on database "postgres" and fails the test on error. Without
// args, sql may hold several statements.
func (p *Postgres) Exec(t TB, sql string, args ...any) {
	t.Helper()
	p.ExecDB(t, "postgres", sql, args...)
}

// ExecDB is Exec on database db.
func (p *Postgres) ExecDB(t TB, db, sql string, args ...any) {
	t.Helper()
	if err := p.Postgres.Exec(db, sql, args...); err != nil {
		t.Fatalf("%v", err)
	}
}

// CreateDB creates database name.
func (p *Postgres) CreateDB(t TB, name string) {
	t.Helper()
	if err := p.Postgres.CreateDB(name); err != nil {
		t.Fatalf("%v", err)
	}
}

// QueryString returns the first column of the first row in its text form
// ("" for NULL), and fails the test on error or when there is no row.
func (p *Postgres) QueryString(t TB, db, sql string, args ...any) string {
	t.Helper()
	s, err := p.Postgres.QueryString(db, sql, args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return s
}

// queryString is the QueryString that returns its error, for polling.
func (p *Postgres) queryString(db, sql string, args ...any) (string, error) {
	return p.Postgres.QueryString(db, sql, args...)
}
