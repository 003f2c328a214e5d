package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/cachesync/cachesync/region"
)

// part is a role (sidecar or proxy) as serve runs it.
type part interface {
	Run(ctx context.Context) error
	Close()
	status() region.NodeStatus
	ready() error
}

// fleetWatcher is a part that learns from the fleet's gossip: the proxy
// reads each memcached server's state from its region's sidecars.
type fleetWatcher interface {
	watchFleet(fleet func() []region.Member)
}

// metrics is one role's registry, served at its /metrics. serve makes one
// per role, so the demo's roles (one process) do not collide.
type metrics struct{ reg *prometheus.Registry }

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cachesync_build_info", Help: "Always 1; the version label says which build runs.",
		ConstLabels: prometheus.Labels{"version": version},
	}, func() float64 { return 1 }))
	return &metrics{reg: reg}
}

// runRole is a role's command after its flags: logging, then serve.
func runRole(ctx context.Context, cfg Config, dev bool, role string,
	build func(Config, *zap.Logger, *metrics) (part, error)) error {
	log, err := newLogger(dev)
	if err != nil {
		return fmt.Errorf("logger: %w", err)
	}
	defer log.Sync() //nolint:errcheck // nothing useful to do at exit
	return serve(ctx, log, cfg, role, build)
}

// serve builds a role, joins it to the fleet and serves HTTP, and runs until
// ctx is done. Every goroutine has exited when it returns.
func serve(ctx context.Context, log *zap.Logger, cfg Config, role string,
	build func(Config, *zap.Logger, *metrics) (part, error)) error {
	name := cfg.Node
	if role == "proxy" {
		name += "-proxy"
	}
	log = log.With(zap.String("region", cfg.Region), zap.String("node", name), zap.String("role", role))
	m := newMetrics()
	p, err := build(cfg, log, m)
	if err != nil {
		return err
	}
	defer p.Close()

	rcfg := region.DefaultConfig()
	rcfg.Region, rcfg.Node, rcfg.Role = cfg.Region, name, role
	rcfg.Bind, rcfg.Join, rcfg.KeyFile = cfg.Cluster.Bind, cfg.Cluster.Join, cfg.Cluster.KeyFile
	rcfg.HTTPListen = cfg.HTTP.Listen
	if len(cfg.Postgres) > 0 {
		rcfg.RetainedWALWarnBytes = int64(cfg.Postgres[0].RetainedWALWarnBytes)
	}
	rcfg.PProf = cfg.HTTP.PProf
	rcfg.Gatherer, rcfg.Registerer = m.reg, m.reg
	rcfg.Logger = log.Named("region")
	rcfg.Ready = p.ready
	// region fills in the region, node, role and time from rcfg.
	rcfg.Status = func() region.NodeStatus {
		st := p.status()
		st.Version = version
		return st
	}
	node, err := region.New(rcfg)
	if err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	defer node.Close()
	if err := node.Listen(); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("started", zap.String("version", version), zap.Int("pid", os.Getpid()),
		zap.String("http", node.HTTPAddr()), zap.String("gossip", node.GossipAddr()))
	if fw, ok := p.(fleetWatcher); ok {
		fw.watchFleet(node.Fleet)
	}
	err = runAll(ctx, p.Run, node.Run)
	if err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// runAll runs fns until ctx is done or one fails; a failure stops the others.
// It returns only after every fn has returned.
func runAll(ctx context.Context, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil && !errors.Is(err, context.Canceled) {
				once.Do(func() { first = err })
				cancel()
			}
		}()
	}
	wg.Wait()
	return first
}

// firstDown is the readiness problem of a memcached pool: its first server
// that is down, or nil.
func firstDown(servers []region.ServerStatus) error {
	for _, s := range servers {
		if !s.Up {
			return fmt.Errorf("memcached %s unreachable", s.Addr)
		}
	}
	return nil
}
