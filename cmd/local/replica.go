package local

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

// StartReplica takes a base backup of p into a new directory inside dir
// ("" = os.TempDir) and starts it as an asynchronous streaming hot standby
// on a free port. It returns once the replica accepts connections and
// reports pg_is_in_recovery(). Close stops it and removes its directory.
func (p *Postgres) StartReplica(dir string, opts ...ReplicaOption) (*Postgres, error) {
	var cfg replicaConfig
	for _, o := range opts {
		o(&cfg)
	}
	r, err := newPostgres("replica of "+p.Addr(), p.acct, dir, "cachesync-pgr-*", true)
	if err != nil {
		return nil, fmt.Errorf("start replica: %w", err)
	}
	// -R writes primary_conninfo and standby.signal; -X stream fetches the
	// WAL needed for consistency over a second connection.
	bb := p.acct.command(r.baseDir, filepath.Join(PGBinDir, "pg_basebackup"),
		"-h", "127.0.0.1", "-p", strconv.Itoa(p.port), "-U", "postgres",
		"-D", r.dataDir, "-R", "-X", "stream", "-c", "fast", "--no-sync")
	if out, err := bb.CombinedOutput(); err != nil {
		return nil, r.abandon(fmt.Errorf("start replica: pg_basebackup: %w\n%s", err, out))
	}
	conf := append([][2]string{{"hot_standby", "on"}, {"unix_socket_directories", "'.'"}}, cfg.conf...)
	if err := r.startFresh(conf); err != nil {
		return nil, r.abandon(fmt.Errorf("start replica: %w", err))
	}
	return r, nil
}

// Promote ends recovery on the replica p (pg_promote, which waits for the
// promotion): it becomes a primary on a new timeline.
func (p *Postgres) Promote() error {
	got, err := p.QueryString("postgres", "SELECT pg_promote(true, 60)::text")
	if err != nil {
		return fmt.Errorf("promote %s: %w", p.name, err)
	}
	if got != "true" {
		return fmt.Errorf("promote %s: pg_promote returned %s", p.name, got)
	}
	p.replica = false
	return nil
}
