package cluster

import (
	"fmt"
	"path/filepath"
	"strconv"
	"time"
)

// ReplicaOption configures StartReplica.
type ReplicaOption func(*replicaConfig)

type replicaConfig struct {
	conf [][2]string
}

// WithApplyDelay sets recovery_min_apply_delay: the replica receives WAL at
// once but replays each commit only d after it was made.
func WithApplyDelay(d time.Duration) ReplicaOption {
	return WithReplicaConf("recovery_min_apply_delay", fmt.Sprintf("'%dms'", d.Milliseconds()))
}

// WithReplicaConf sets a postgresql.conf parameter on the replica.
func WithReplicaConf(key, value string) ReplicaOption {
	return func(c *replicaConfig) { c.conf = append(c.conf, [2]string{key, value}) }
}

// StartReplica takes a base backup of p and starts it as an asynchronous
// streaming hot standby on a free port. It returns once the replica accepts
// connections and reports pg_is_in_recovery().
func (p *Postgres) StartReplica(t TB, opts ...ReplicaOption) *Postgres {
	t.Helper()
	var cfg replicaConfig
	for _, o := range opts {
		o(&cfg)
	}
	base, err := p.acct.tempDir("cachesync-pgr-*")
	if err != nil {
		t.Fatalf("start replica: %v", err)
	}
	r := &Postgres{name: "replica of " + p.Addr(), acct: p.acct, baseDir: base, dataDir: filepath.Join(base, "data"), logPath: filepath.Join(base, "postgres.log"), replica: true}
	t.Cleanup(func() { r.cleanup(t) })

	// -R writes primary_conninfo and standby.signal; -X stream fetches the
	// WAL needed for consistency over a second connection.
	bb := p.acct.command(base, filepath.Join(PGBinDir, "pg_basebackup"),
		"-h", "127.0.0.1", "-p", strconv.Itoa(p.port), "-U", "postgres",
		"-D", r.dataDir, "-R", "-X", "stream", "-c", "fast", "--no-sync")
	if out, err := bb.CombinedOutput(); err != nil {
		t.Fatalf("start replica: pg_basebackup: %v\n%s", err, out)
	}
	conf := append([][2]string{{"hot_standby", "on"}, {"unix_socket_directories", "'.'"}}, cfg.conf...)
	if err := r.startFresh(conf); err != nil {
		t.Fatalf("start replica: %v", err)
	}
	return r
}

// Promote ends recovery on the replica p (pg_promote, which waits for the
// promotion): it becomes a primary on a new timeline.
func (p *Postgres) Promote(t TB) {
	t.Helper()
	if got := p.QueryString(t, "postgres", "SELECT pg_promote(true, 60)::text"); got != "true" {
		t.Fatalf("promote %s: pg_promote returned %s", p.name, got)
	}
	p.replica = false
}
