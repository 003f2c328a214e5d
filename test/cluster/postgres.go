package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// PGBinDir is where the PostgreSQL 15 server binaries are installed.
const PGBinDir = "/usr/lib/postgresql/15/bin"

const (
	pgReadyTimeout = 60 * time.Second
	pgStopTimeout  = 30 * time.Second
	logTailLines   = 50
)

// Postgres is one PostgreSQL server (a primary or a streaming replica).
type Postgres struct {
	name    string
	acct    account
	baseDir string // owned by the postgres account; holds data/
	dataDir string
	logPath string
	port    int
	replica bool

	mu  sync.Mutex
	cmd *exec.Cmd
	// exited is closed when cmd has been waited for.
	exited chan struct{}
}

// PGOption configures StartPostgres.
type PGOption func(*pgConfig)

type pgConfig struct {
	conf [][2]string
}

// WithPGConf sets a postgresql.conf parameter; it overrides the defaults.
func WithPGConf(key, value string) PGOption {
	return func(c *pgConfig) { c.conf = append(c.conf, [2]string{key, value}) }
}

// baseConf is tuned for tests: fsync=off because durability across an OS
// crash is never tested here (a SIGKILL of postgres keeps the page cache).
var baseConf = [][2]string{
	{"listen_addresses", "'127.0.0.1'"},
	{"unix_socket_directories", "'.'"},
	{"wal_level", "logical"},
	{"max_replication_slots", "20"},
	{"max_wal_senders", "20"},
	{"max_connections", "100"},
	{"fsync", "off"},
	{"full_page_writes", "off"},
	{"hot_standby", "on"},
	{"wal_keep_size", "'64MB'"},
	{"shared_buffers", "'64MB'"},
	{"logging_collector", "off"},
	{"log_min_messages", "warning"},
	{"log_line_prefix", "'%m [%p] '"},
}

// StartPostgres initialises and starts a primary on a free port. It is
// stopped and its files removed at t.Cleanup.
func StartPostgres(t TB, opts ...PGOption) *Postgres {
	t.Helper()
	var cfg pgConfig
	for _, o := range opts {
		o(&cfg)
	}
	acct, err := pgAccount()
	if err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	base, err := acct.tempDir("cachesync-pg-*")
	if err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	p := &Postgres{name: "postgres", acct: acct, baseDir: base, dataDir: filepath.Join(base, "data"), logPath: filepath.Join(base, "postgres.log")}
	t.Cleanup(func() { p.cleanup(t) })

	initdb := acct.command(base, filepath.Join(PGBinDir, "initdb"),
		"-D", p.dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("start postgres: initdb: %v\n%s", err, out)
	}
	conf := append(append([][2]string{}, baseConf...), cfg.conf...)
	if err := p.startFresh(conf); err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	return p
}

// startFresh picks a port, writes the configuration and starts the server,
// trying another port if the chosen one was taken in the meantime.
func (p *Postgres) startFresh(conf [][2]string) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if p.port, err = freePort(); err != nil {
			return err
		}
		all := append(append([][2]string{}, conf...), [2]string{"port", strconv.Itoa(p.port)})
		if err = appendConf(p.dataDir, all); err != nil {
			return err
		}
		if err = p.start(); err == nil || !strings.Contains(tailFile(p.logPath, logTailLines), "could not bind") {
			return err
		}
	}
	return err
}

// appendConf appends to postgresql.conf: later settings win, so the
// file keeps initdb's defaults and the last port written is the one used.
func appendConf(dataDir string, conf [][2]string) error {
	f, err := os.OpenFile(filepath.Join(dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open postgresql.conf: %w", err)
	}
	var b strings.Builder
	b.WriteString("\n# cachesync test harness\n")
	for _, kv := range conf {
		fmt.Fprintf(&b, "%s = %s\n", kv[0], kv[1])
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("write postgresql.conf: %w", err)
	}
	return f.Close()
}

// start launches the postmaster and waits until it accepts connections.
func (p *Postgres) start() error {
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer logf.Close()
	cmd := p.acct.command(p.dataDir, filepath.Join(PGBinDir, "postgres"), "-D", p.dataDir)
	cmd.Stdout, cmd.Stderr = logf, logf
	exited, err := launch(cmd)
	if err != nil {
		return fmt.Errorf("exec postgres: %w", err)
	}
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()

	if err := awaitReady(exited, pgReadyTimeout, p.ready); err != nil {
		_ = killGroup(cmd.Process.Pid, pgStopTimeout)
		<-exited
		return fmt.Errorf("postgres on port %d not ready: %w\n%s", p.port, err, tailFile(p.logPath, logTailLines))
	}
	return nil
}

// ready is true once connections are accepted; a replica must also be in
// recovery (a promoted or misconfigured one is not what the test asked for).
func (p *Postgres) ready() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var inRecovery bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
		return err
	}
	if inRecovery != p.replica {
		return fmt.Errorf("pg_is_in_recovery() = %v, want %v", inRecovery, p.replica)
	}
	return nil
}

// DSN is a superuser connection string for database db.
func (p *Postgres) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

// ReplicationDSN is DSN in logical replication mode.
func (p *Postgres) ReplicationDSN(db string) string {
	return p.DSN(db) + "&replication=database"
}

// Port is the TCP port the server listens on (stable across Stop/Start).
func (p *Postgres) Port() int { return p.port }

// Addr is host:port.
func (p *Postgres) Addr() string { return fmt.Sprintf("127.0.0.1:%d", p.port) }

// Kill SIGKILLs the postmaster, as in a crash, and returns once every
// backend is gone too, so that Start can reuse the data directory at once.
func (p *Postgres) Kill(t TB) {
	t.Helper()
	cmd, exited := p.running()
	if cmd == nil {
		t.Fatalf("kill %s: not running", p.name)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	// Backends notice postmaster death on their own, but not all at once;
	// any left would keep the shared memory segment and block a restart.
	if err := killGroup(cmd.Process.Pid, pgStopTimeout); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	p.clear()
}

// Stop shuts the server down cleanly (fast shutdown).
func (p *Postgres) Stop(t TB) {
	t.Helper()
	if err := p.stop(syscall.SIGINT); err != nil {
		t.Fatalf("stop %s: %v", p.name, err)
	}
}

// Start restarts a stopped or killed server on the same port with the same
// data; after a Kill it runs crash recovery first.
func (p *Postgres) Start(t TB) {
	t.Helper()
	if cmd, _ := p.running(); cmd != nil {
		t.Fatalf("start %s: already running", p.name)
	}
	if err := p.start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
}

func (p *Postgres) running() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd, p.exited
}

func (p *Postgres) clear() {
	p.mu.Lock()
	p.cmd, p.exited = nil, nil
	p.mu.Unlock()
}

// stop sends sig (SIGINT fast, SIGQUIT immediate) and escalates to SIGKILL
// if the server has not exited within the timeout.
func (p *Postgres) stop(sig syscall.Signal) error {
	cmd, exited := p.running()
	if cmd == nil {
		return nil
	}
	defer p.clear()
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
		return killGroup(cmd.Process.Pid, pgStopTimeout)
	case <-time.After(pgStopTimeout):
		err := killGroup(cmd.Process.Pid, pgStopTimeout)
		<-exited
		return fmt.Errorf("did not stop within %s after %s (killed): %v", pgStopTimeout, sig, err)
	}
}

func (p *Postgres) cleanup(t TB) {
	err := p.stop(syscall.SIGQUIT)
	if t.Failed() || err != nil {
		t.Logf("%s (port %d) log tail:\n%s", p.name, p.port, tailFile(p.logPath, logTailLines))
	}
	if err != nil {
		t.Errorf("cleanup %s: %v", p.name, err)
	}
	if err := os.RemoveAll(p.baseDir); err != nil {
		t.Errorf("cleanup %s: %v", p.name, err)
	}
}
