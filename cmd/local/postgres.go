package local

import (
	"context"
	"errors"
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
	closed bool
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

// baseConf is tuned for local, throwaway servers: fsync=off because
// durability across an OS crash is never needed here (a SIGKILL of
// postgres keeps the page cache).
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

// StartPostgres initialises a primary in a new directory inside dir ("" =
// os.TempDir) and starts it on a free port. Close stops it and removes
// that directory.
func StartPostgres(dir string, opts ...PGOption) (*Postgres, error) {
	var cfg pgConfig
	for _, o := range opts {
		o(&cfg)
	}
	acct, err := pgAccount()
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	p, err := newPostgres("postgres", acct, dir, "cachesync-pg-*", false)
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	initdb := acct.command(p.baseDir, filepath.Join(PGBinDir, "initdb"),
		"-D", p.dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, p.abandon(fmt.Errorf("start postgres: initdb: %w\n%s", err, out))
	}
	conf := append(append([][2]string{}, baseConf...), cfg.conf...)
	if err := p.startFresh(conf); err != nil {
		return nil, p.abandon(fmt.Errorf("start postgres: %w", err))
	}
	return p, nil
}

func newPostgres(name string, acct account, dir, pattern string, replica bool) (*Postgres, error) {
	base, err := acct.tempDir(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &Postgres{name: name, acct: acct, baseDir: base, dataDir: filepath.Join(base, "data"),
		logPath: filepath.Join(base, "postgres.log"), replica: replica}, nil
}

// abandon undoes a failed start and returns err (with any cleanup error).
func (p *Postgres) abandon(err error) error {
	if cerr := p.Close(); cerr != nil {
		return errors.Join(err, cerr)
	}
	return err
}

// startFresh picks a port, writes the configuration and starts the server,
// trying another port if the chosen one was taken in the meantime.
func (p *Postgres) startFresh(conf [][2]string) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if p.port, err = FreePort(); err != nil {
			return err
		}
		all := append(append([][2]string{}, conf...), [2]string{"port", strconv.Itoa(p.port)})
		if err = appendConf(p.dataDir, all); err != nil {
			return err
		}
		if err = p.start(); err == nil || !strings.Contains(p.LogTail(LogTailLines), "could not bind") {
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
	b.WriteString("\n# cachesync local server\n")
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
		p.clear()
		return fmt.Errorf("postgres on port %d not ready: %w\n%s", p.port, err, p.LogTail(LogTailLines))
	}
	return nil
}

// ready is true once connections are accepted; a replica must also be in
// recovery (a promoted or misconfigured one is not what was asked for).
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

// Name is "postgres" for a primary, "replica of <addr>" for a replica.
func (p *Postgres) Name() string { return p.name }

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

// LogTail is the last n lines of the server's log.
func (p *Postgres) LogTail(n int) string { return tailFile(p.logPath, n) }

// Kill SIGKILLs the postmaster, as in a crash, and returns once every
// backend is gone too, so that Start can reuse the data directory at once.
func (p *Postgres) Kill() error {
	cmd, exited := p.running()
	if cmd == nil {
		return fmt.Errorf("kill %s: not running", p.name)
	}
	defer p.clear()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	// Backends notice postmaster death on their own, but not all at once;
	// any left would keep the shared memory segment and block a restart.
	if err := killGroup(cmd.Process.Pid, pgStopTimeout); err != nil {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	// A restart refuses a segment the kernel still counts as attached,
	// which it may do for a moment after the last backend is gone.
	if err := Poll(context.Background(), pgStopTimeout, p.shmDetached); err != nil {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	return nil
}

// shmDetached is nil once no process is attached to the System V shared
// memory segment postmaster.pid names (line 7: key and id), as the next
// postmaster checks before it starts.
func (p *Postgres) shmDetached() error {
	b, err := os.ReadFile(filepath.Join(p.dataDir, "postmaster.pid"))
	if err != nil {
		return nil // no postmaster.pid: the next start has nothing to check
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 7 || len(strings.Fields(lines[6])) != 2 {
		return nil
	}
	id := strings.Fields(lines[6])[1]
	shm, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		return nil // no System V IPC view: nothing to wait for
	}
	// Columns: key shmid perms size cpid lpid nattch ...
	for _, line := range strings.Split(string(shm), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 6 && f[1] == id && f[6] != "0" {
			return fmt.Errorf("shared memory segment %s still has %s processes attached", id, f[6])
		}
	}
	return nil
}

// Stop shuts the server down cleanly (fast shutdown).
func (p *Postgres) Stop() error {
	if err := p.stop(syscall.SIGINT); err != nil {
		return fmt.Errorf("stop %s: %w", p.name, err)
	}
	return nil
}

// Start restarts a stopped or killed server on the same port with the same
// data; after a Kill it runs crash recovery first.
func (p *Postgres) Start() error {
	if cmd, _ := p.running(); cmd != nil {
		return fmt.Errorf("start %s: already running", p.name)
	}
	if err := p.start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	return nil
}

// Close stops the server (immediate shutdown: its data is thrown away) and
// removes its directory. Safe to call twice.
func (p *Postgres) Close() error {
	p.mu.Lock()
	closed := p.closed
	p.closed = true
	p.mu.Unlock()
	if closed {
		return nil
	}
	var errs []error
	if err := p.stop(syscall.SIGQUIT); err != nil {
		errs = append(errs, fmt.Errorf("stop %s (port %d): %w\n%s", p.name, p.port, err, p.LogTail(LogTailLines)))
	}
	if err := os.RemoveAll(p.baseDir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s's files: %w", p.name, err))
	}
	return errors.Join(errs...)
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
	t := time.NewTimer(pgStopTimeout)
	defer t.Stop()
	select {
	case <-exited:
		return killGroup(cmd.Process.Pid, pgStopTimeout)
	case <-t.C:
		err := killGroup(cmd.Process.Pid, pgStopTimeout)
		<-exited
		return fmt.Errorf("did not stop within %s after %s (killed): %v", pgStopTimeout, sig, err)
	}
}

// cmdPid is the postmaster's pid (its process group), 0 when not running.
func (p *Postgres) cmdPid() int {
	cmd, _ := p.running()
	if cmd == nil {
		return 0
	}
	return cmd.Process.Pid
}
