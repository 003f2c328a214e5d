package main

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

	"github.com/cachesync/cachesync/test/cluster"
)

// demoInterval is how often the demo prints its summary line (and checks
// the caches for stale values).
const demoInterval = 5 * time.Second

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	duration := fs.Duration("duration", 0, "stop after this long (0: run until Ctrl-C)")
	dev := fs.Bool("dev", false, "component logs on the terminal (console format) instead of a file in the temp dir")
	httpPort := fs.Int("http", 9100, "dashboard port of the east sidecar (0: any free port; a busy port falls back to a free one)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	d, err := newDemo(stdout, *dev)
	if err != nil {
		return err
	}
	err = d.run(ctx, *httpPort)
	d.stop()
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = nil // Ctrl-C or --duration: the normal way out
	}
	return err
}

// demo is everything `cachesync demo` started, so stop can undo it in the
// reverse order: workload, roles, servers, temp dir.
type demo struct {
	out     io.Writer
	dir     string
	oldTmp  *string
	log     *zap.Logger
	logFile string
	dev     bool
	tb      *demoTB

	regions  []*demoRegion
	roles    *demoRoles
	stopRole context.CancelFunc
	stopWork context.CancelFunc
	workDone chan struct{}
	closers  []func()
}

// newDemo makes the temp dir that holds everything (servers' data, logs,
// config files). The harness makes its directories under $TMPDIR, so
// pointing TMPDIR here for the demo's lifetime puts them inside it too.
func newDemo(out io.Writer, dev bool) (*demo, error) {
	dir, err := os.MkdirTemp("", "cachesync-demo-*")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	// PostgreSQL runs as the postgres user and must reach its data below.
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	d := &demo{out: out, dir: dir, dev: dev, logFile: filepath.Join(dir, "cachesync.log")}
	if old, ok := os.LookupEnv("TMPDIR"); ok {
		d.oldTmp = &old
	}
	os.Setenv("TMPDIR", dir)
	if d.log, err = demoLogger(dev, d.logFile); err != nil {
		d.stop()
		return nil, fmt.Errorf("logger: %w", err)
	}
	d.tb = newDemoTB(d.log.Named("harness"))
	return d, nil
}

func demoLogger(dev bool, path string) (*zap.Logger, error) {
	if dev {
		return newLogger(true)
	}
	cfg := productionLogConfig()
	cfg.Level = zap.NewAtomicLevelAt(zapcore.DebugLevel)
	cfg.OutputPaths, cfg.ErrorOutputPaths = []string{path}, []string{path}
	return cfg.Build()
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.out, format+"\n", args...) }

func (d *demo) run(ctx context.Context, httpPort int) error {
	d.say("cachesync demo: starting a PostgreSQL primary and replica, 2 memcached, 2 sidecars and 2 proxies in %s", d.dir)
	srv, err := startServers(d.tb)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	eastHTTP, note, err := d.dashboardAddr(httpPort)
	if err != nil {
		return err
	}
	if d.regions, err = planRegions(d.tb, srv, d.dir, eastHTTP); err != nil {
		return err
	}
	roleCtx, stopRole := context.WithCancel(context.Background())
	d.stopRole = stopRole
	d.roles = newDemoRoles(d.log)
	if err := d.roles.startAll(roleCtx, d.regions); err != nil {
		return err
	}
	work, checker, err := d.workload(ctx, srv)
	if err != nil {
		return err
	}
	d.startWork(work)

	d.say("dashboard: http://%s/%s", eastHTTP, note)
	for _, r := range d.regions {
		from := "the primary"
		if r.sidecar.Postgres[0].Replica != "" {
			from = "the replica"
		}
		d.say("region %s: proxy %s (app reads %s), sidecar dashboard http://%s/", r.name, r.proxyAddr, from, r.httpAddr)
	}
	d.say("logs: %s  configs: %s/*.yaml", d.logDest(), d.dir)
	d.say("every %s: writes, invalidations, end-to-end lag, hit rate, and stale values found by comparing both caches with the primary (must be 0). Ctrl-C stops.", demoInterval)
	return d.report(ctx, work, checker)
}

func (d *demo) logDest() string {
	if d.dev {
		return "the terminal (--dev)"
	}
	return d.logFile
}

// dashboardAddr is 127.0.0.1:port when port is free, else a free port (and
// a note saying so).
func (d *demo) dashboardAddr(port int) (addr, note string, err error) {
	if port != 0 {
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, lerr := net.Listen("tcp", addr)
		if lerr == nil {
			ln.Close()
			return addr, "", nil
		}
		note = fmt.Sprintf(" (port %d is busy)", port)
	}
	err = d.tb.start("dashboard port", func() {
		addr = fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(d.tb))
	})
	return addr, note, err
}

// workload connects the app side: a pool on the primary for the writers,
// and per region a lease client on its proxy and a pool on its database.
func (d *demo) workload(ctx context.Context, srv *demoServers) (*demoWorkload, *staleChecker, error) {
	primary, err := d.pool(ctx, srv.primary.DSN(demoDB))
	if err != nil {
		return nil, nil, err
	}
	w := &demoWorkload{load: defaultDemoLoad(), log: d.log.Named("workload"), primary: primary}
	for _, r := range d.regions {
		db, err := d.pool(ctx, r.readDSN)
		if err != nil {
			return nil, nil, err
		}
		cache, closeCache, err := newLeaseGetter(r.proxyAddr)
		if err != nil {
			return nil, nil, fmt.Errorf("%s lease client: %w", r.name, err)
		}
		d.closers = append(d.closers, closeCache)
		w.readers = append(w.readers, demoReader{region: r.name, cache: cache, db: db})
	}
	return w, newStaleChecker(w, primary, srv.primary.DSN(demoDB), d.regions), nil
}

func (d *demo) pool(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	p, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", dsn, err)
	}
	d.closers = append(d.closers, p.Close)
	return p, nil
}

func (d *demo) startWork(w *demoWorkload) {
	ctx, stop := context.WithCancel(context.Background())
	d.stopWork, d.workDone = stop, make(chan struct{})
	go func() {
		defer close(d.workDone)
		w.Run(ctx)
	}()
}

// report prints a summary line every demoInterval until ctx is done or a
// role fails.
func (d *demo) report(ctx context.Context, w *demoWorkload, c *staleChecker) error {
	var names []string
	for _, r := range d.regions {
		names = append(names, r.name)
	}
	sum := newSummary(names, time.Now())
	statusURL := "http://" + d.regions[0].httpAddr + "/api/status"
	t := time.NewTicker(demoInterval)
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
	if d.tb != nil {
		d.tb.runCleanups()
	}
	if d.log != nil {
		_ = d.log.Sync()
	}
	if d.oldTmp != nil {
		os.Setenv("TMPDIR", *d.oldTmp)
	} else {
		os.Unsetenv("TMPDIR")
	}
	if err := os.RemoveAll(d.dir); err != nil {
		d.say("cachesync demo: could not remove %s: %v", d.dir, err)
		return
	}
	d.say("cachesync demo: stopped, removed %s", d.dir)
}
