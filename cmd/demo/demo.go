package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cachesync/cachesync/cmd/local"
)

// maxShards keeps the demo's PostgreSQL servers (two per shard) within
// what a laptop runs comfortably.
const maxShards = 4

// interval is how often the demo prints its summary line (and checks the
// caches for stale values).
const interval = 5 * time.Second

// Config is what the demo needs from its command.
type Config struct {
	// Out gets the demo's own lines: what runs where, then a summary every
	// five seconds.
	Out io.Writer
	// Dev writes the components' logs with Log's encoder on its output
	// paths (the terminal); otherwise they go to a file in the temp dir.
	Dev bool
	// Log is the components' log format (cmd/cachesync's).
	Log zap.Config
	// HTTPPort is east's sidecar's dashboard port: 0 picks a free one, and
	// a busy one falls back to a free one.
	HTTPPort int
	// Version is the roles' version (status, cachesync_build_info).
	Version string
	// Shards is how many primaries hold the app's table (each with a
	// replica that west reads): 1, or the sharded layout with a source per
	// primary in every sidecar.
	Shards int
}

// DefaultConfig prints to stdout and serves the dashboard on port 9100.
func DefaultConfig() Config {
	return Config{Out: os.Stdout, Log: zap.NewProductionConfig(), HTTPPort: 9100, Shards: 1}
}

// Run starts the demo, reports until ctx is done, and stops everything.
// ctx ending is the normal way out and returns nil.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Shards < 1 || cfg.Shards > maxShards {
		return fmt.Errorf("demo: %d shards: want 1 to %d", cfg.Shards, maxShards)
	}
	d, err := newDemo(cfg)
	if err != nil {
		return err
	}
	err = d.run(ctx)
	d.stop()
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		err = nil // Ctrl-C or --duration
	}
	return err
}

// demo is everything Run started, so stop can undo it in the reverse order:
// workload, roles, servers, temp dir.
type demo struct {
	cfg     Config
	dir     string
	log     *zap.Logger
	logFile string

	srv      *servers
	regions  []*regionSetup
	roles    *roles
	stopRole context.CancelFunc
	stopWork context.CancelFunc
	workDone chan struct{}
	closers  []func()
}

// newDemo makes the temp dir that holds everything (servers' data, logs,
// config files); the servers' own directories are made inside it.
func newDemo(cfg Config) (*demo, error) {
	dir, err := os.MkdirTemp("", "cachesync-demo-*")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	// PostgreSQL runs as the postgres user and must reach its data below.
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	d := &demo{cfg: cfg, dir: dir, logFile: filepath.Join(dir, "cachesync.log")}
	lc := cfg.Log
	if !cfg.Dev {
		lc.Level = zap.NewAtomicLevelAt(zapcore.DebugLevel)
		lc.OutputPaths, lc.ErrorOutputPaths = []string{d.logFile}, []string{d.logFile}
	}
	if d.log, err = lc.Build(); err != nil {
		d.stop()
		return nil, fmt.Errorf("logger: %w", err)
	}
	return d, nil
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.cfg.Out, format+"\n", args...) }

func (d *demo) run(ctx context.Context) error {
	if n := d.cfg.Shards; n == 1 {
		d.say("cachesync demo: starting a PostgreSQL primary and replica, 2 memcached, 2 sidecars and 2 proxies in %s", d.dir)
	} else {
		d.say("cachesync demo: starting %d PostgreSQL primaries (shards) and a replica of each, 2 memcached, 2 sidecars and 2 proxies in %s; each sidecar has a source per primary", n, d.dir)
	}
	var err error
	if d.srv, err = startServers(d.dir, d.cfg.Shards); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	eastHTTP, note, err := dashboardAddr(d.cfg.HTTPPort)
	if err != nil {
		return err
	}
	if d.regions, err = planRegions(d.srv.endpoints(), d.dir, eastHTTP); err != nil {
		return err
	}
	roleCtx, stopRole := context.WithCancel(context.Background())
	d.stopRole = stopRole
	d.roles = newRoles(d.log, d.cfg.Version)
	if err := d.roles.startAll(ctx, roleCtx, d.regions); err != nil {
		return err
	}
	work, checker, err := d.workload(ctx)
	if err != nil {
		return err
	}
	d.startWork(work)

	d.say("dashboard: http://%s/%s", eastHTTP, note)
	for _, r := range d.regions {
		from := map[bool]string{false: "the primary", true: "the replica"}[r.sidecar.Postgres[0].Replica != ""]
		if d.cfg.Shards > 1 {
			from = map[bool]string{false: "the primaries", true: "the replicas"}[r.sidecar.Postgres[0].Replica != ""]
		}
		d.say("region %s: proxy %s (app reads %s), sidecar dashboard http://%s/", r.name, r.proxyAddr, from, r.httpAddr)
	}
	d.say("logs: %s  configs: %s/*.yaml", d.logDest(), d.dir)
	d.say("every %s: writes, invalidations, end-to-end lag, hit rate, and stale values found by comparing both caches with the primary (must be 0). Ctrl-C stops.", interval)
	return d.report(ctx, work, checker)
}

func (d *demo) logDest() string {
	if d.cfg.Dev {
		return "the terminal (--dev)"
	}
	return d.logFile
}

// dashboardAddr is 127.0.0.1:port when port is free, else a free port (and
// a note saying so).
func dashboardAddr(port int) (addr, note string, err error) {
	if port != 0 {
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, lerr := net.Listen("tcp", addr)
		if lerr == nil {
			ln.Close()
			return addr, "", nil
		}
		note = fmt.Sprintf(" (port %d is busy)", port)
	}
	addr, err = local.FreeAddr()
	return addr, note, err
}

// workload connects the app side: a pool on each primary for the writers,
// and per region a lease client on its proxy and a pool on each database
// it reads.
func (d *demo) workload(ctx context.Context) (*workload, *staleChecker, error) {
	w := &workload{load: defaultLoad(), log: d.log.Named("workload")}
	var primaryDSNs []string
	for _, p := range d.srv.primaries {
		dsn := p.DSN(appDB)
		pool, err := d.pool(ctx, dsn)
		if err != nil {
			return nil, nil, err
		}
		w.primaries, primaryDSNs = append(w.primaries, pool), append(primaryDSNs, dsn)
	}
	for _, r := range d.regions {
		rd := reader{region: r.name}
		for _, dsn := range r.readDSNs {
			db, err := d.pool(ctx, dsn)
			if err != nil {
				return nil, nil, err
			}
			rd.dbs = append(rd.dbs, db)
		}
		cache, closeCache, err := newLeaseGetter(r.proxyAddr)
		if err != nil {
			return nil, nil, fmt.Errorf("%s lease client: %w", r.name, err)
		}
		d.closers = append(d.closers, closeCache)
		rd.cache = cache
		w.readers = append(w.readers, rd)
	}
	return w, newStaleChecker(w, primaryDSNs, d.regions), nil
}

func (d *demo) pool(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	p, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", dsn, err)
	}
	d.closers = append(d.closers, p.Close)
	return p, nil
}

func (d *demo) startWork(w *workload) {
	ctx, stop := context.WithCancel(context.Background())
	d.stopWork, d.workDone = stop, make(chan struct{})
	go func() {
		defer close(d.workDone)
		w.Run(ctx)
	}()
}

// report prints a summary line every interval until ctx is done or a role
// fails.
func (d *demo) report(ctx context.Context, w *workload, c *staleChecker) error {
	var names []string
	for _, r := range d.regions {
		names = append(names, r.name)
	}
	sum := newSummary(names, time.Now())
	statusURL := "http://" + d.regions[0].httpAddr + "/api/status"
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-d.roles.failed():
			return err
		case <-t.C:
		}
		// Status first: the check pauses the writers, which the sidecars'
		// rates would show.
		now, writes := time.Now(), w.writes.Load()
		view, statusErr := fetchStatus(ctx, statusURL)
		res, checkErr := c.check(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if res.Stale > 0 {
			d.log.Error("stale value in cache", zap.Int("stale", res.Stale), zap.String("example", res.Example))
		}
		d.say("%s", sum.line(now, writes, view, statusErr, res, checkErr))
	}
}

// stop undoes run in reverse order; it is safe after a partial start.
func (d *demo) stop() {
	if d.stopWork != nil {
		d.stopWork()
		<-d.workDone
	}
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
	d.closers = nil
	if d.stopRole != nil {
		d.stopRole()
		d.roles.wait()
	}
	if d.srv != nil {
		if err := d.srv.Close(); err != nil {
			d.log.Error("stop servers", zap.Error(err))
		}
	}
	if d.log != nil {
		_ = d.log.Sync()
	}
	if err := os.RemoveAll(d.dir); err != nil {
		d.say("cachesync demo: could not remove %s: %v", d.dir, err)
		return
	}
	d.say("cachesync demo: stopped, removed %s", d.dir)
}
