package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"time"

	"go.uber.org/zap"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/lease/proxy"
	"github.com/cachesync/cachesync/lease/route"
	"github.com/cachesync/cachesync/region"
)

func cmdProxy(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("proxy", stderr)
	path := fs.String("config", "", "config file (the proxy reads region, memcache, proxy, cluster and http)")
	listen := fs.String("listen", "", "without --config: address to serve the memcached protocol on")
	backends := fs.String("backends", "", "without --config: memcached servers, host:port,host:port")
	hash := fs.String("hash", proxy.DefaultConfig().Hash, "without --config: ketama or crc32")
	gutter := fs.String("gutter", "", "without --config: gutter servers for a down server's keys, host:port,host:port")
	gutterTTL := fs.Duration("gutter-ttl", proxy.DefaultConfig().GutterTTL, "without --config: the longest a value lives in the gutter")
	allowFlush := fs.Bool("allow-flush", false, "without --config: pass flush_all to every server")
	httpListen := fs.String("http", "", "dashboard and /metrics address; overrides http.listen (without --config, empty: none)")
	bind := fs.String("bind", "", "memberlist gossip address; overrides cluster.bind (so a sidecar's file can serve a proxy on the same host)")
	node := fs.String("node", "", "without --config: this node's name in the fleet (default: hostname-PORT)")
	regionName := fs.String("region", "local", "without --config: the region this proxy serves (dashboard and fleet)")
	join := fs.String("join", "", "memberlist addresses to join, A,B; overrides cluster.join")
	procs := fs.Int("procs", -1, "Go scheduler threads for the proxy; overrides proxy.procs (default 1; 0: one per core)")
	dev := fs.Bool("dev", false, "human-readable console logs instead of JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var cfg Config
	switch {
	case *path != "" && (*listen != "" || *backends != ""):
		fmt.Fprintln(stderr, "proxy takes either --config FILE or --listen ADDR --backends A,B, not both")
		return errUsage
	case *path != "":
		var err error
		if cfg, err = config.Load(*path, config.RoleProxy); err != nil {
			return err
		}
		if *httpListen != "" {
			cfg.HTTP.Listen = *httpListen
		}
	case *listen != "" && *backends != "":
		cfg = config.Default()
		cfg.Region = *regionName
		if _, port, err := net.SplitHostPort(*listen); err == nil && *node == "" {
			// Several flag-configured proxies on one host must not share a
			// name: memberlist keeps one member per name.
			cfg.Node += "-" + port
		}
		if *node != "" {
			cfg.Node = *node
		}
		cfg.Proxy.Listen, cfg.Memcache.Servers = *listen, config.SplitList(*backends)
		cfg.Memcache.Hash, cfg.Proxy.AllowFlush = *hash, *allowFlush
		cfg.Memcache.Gutter, cfg.Memcache.GutterTTL = config.SplitList(*gutter), config.Duration(*gutterTTL)
		cfg.HTTP.Listen = *httpListen
		cfg.Cluster.Bind = "127.0.0.1:0"
		if err := cfg.Check(config.RoleProxy); err != nil {
			return fmt.Errorf("flags: %w", err)
		}
	default:
		fmt.Fprintln(stderr, "proxy needs --config FILE, or --listen ADDR and --backends A,B")
		return errUsage
	}
	if *bind != "" {
		cfg.Cluster.Bind = *bind
	}
	if *join != "" {
		cfg.Cluster.Join = config.SplitList(*join)
	}
	if *procs >= 0 {
		cfg.Proxy.Procs = *procs
	}
	// Only the proxy command sets it: the demo runs every role in one
	// process and keeps Go's default. 0 keeps it too (one per core, the
	// container's CPU limit, or $GOMAXPROCS).
	if cfg.Proxy.Procs > 0 {
		runtime.GOMAXPROCS(cfg.Proxy.Procs)
	}
	return runRole(ctx, cfg, *dev, "proxy", newProxyPart)
}

type proxyPart struct {
	srv    *proxy.Server
	region string
	pool   int                    // servers in the pool; ServersUp lists the gutter's after them
	fleet  func() []region.Member // nil until watchFleet
}

func newProxyPart(cfg Config, log *zap.Logger, m *metrics) (part, error) {
	pc := proxy.DefaultConfig()
	pc.Listen = cfg.Proxy.Listen
	pc.Servers = cfg.Memcache.Servers
	pc.Hash = cfg.Memcache.Hash
	pc.Gutter = cfg.Memcache.Gutter
	pc.GutterTTL = time.Duration(cfg.Memcache.GutterTTL)
	pc.LeaseTTL = time.Duration(cfg.Proxy.LeaseTTL)
	pc.HotMissWait = time.Duration(cfg.Proxy.HotMissWait)
	pc.AllowFlush = cfg.Proxy.AllowFlush
	pc.MaxConns = cfg.Proxy.MaxConns
	pc.IdleTimeout = time.Duration(cfg.Proxy.IdleTimeout)
	pc.MaxItemSize = int(cfg.Proxy.MaxItemSize)
	pc.ClassicLeases = cfg.Proxy.ClassicLeases
	pc.ClassicStale = cfg.Proxy.ClassicStale
	pc.ClassicLeaseLimit = cfg.Proxy.ClassicLeaseLimit
	pc.Logger = log.Named("proxy")
	pc.Registerer = m.reg
	srv, err := proxy.New(pc)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	if err := srv.Listen(); err != nil {
		return nil, fmt.Errorf("proxy listen %s: %w", cfg.Proxy.Listen, err)
	}
	// The bound address matters when the config asks for port 0.
	log.Info("serving the memcached protocol", zap.String("addr", srv.Addr()), zap.Strings("servers", pc.Servers),
		zap.Strings("gutter", pc.Gutter))
	return &proxyPart{srv: srv, region: cfg.Region, pool: len(pc.Servers)}, nil
}

func (p *proxyPart) watchFleet(fleet func() []region.Member) { p.fleet = fleet }

// Run serves, and feeds the proxy its region's sidecar reports while it
// does.
func (p *proxyPart) Run(ctx context.Context) error {
	if p.fleet == nil {
		return p.srv.Run(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		p.feed(ctx)
	}()
	err := p.srv.Run(ctx)
	cancel()
	<-fed
	return err
}

func (p *proxyPart) Close() { p.srv.Close() }

// feedInterval is how often the proxy reads the fleet for its sidecars'
// reports: a fraction of the sidecars' status interval (1 s by default), so
// a returned server is back in rotation soon after it is up to date.
const feedInterval = 100 * time.Millisecond

func (p *proxyPart) feed(ctx context.Context) {
	t := time.NewTicker(feedInterval)
	defer t.Stop()
	for {
		p.srv.SetReports(sidecarReports(p.fleet(), p.region))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sidecarReports is what the alive sidecars of the region say of each
// memcached server, stamped with when this node last heard from them.
// Where they disagree the worse wins: a server not up for one of them is
// not up, and of several "up"s the oldest vouches. No sidecar: no reports,
// and the proxy's own view decides.
func sidecarReports(fleet []region.Member, regionName string) map[string]route.Report {
	out := map[string]route.Report{}
	for _, m := range fleet {
		if m.Region != regionName || m.Role != "sidecar" || m.State != region.StateAlive || m.Status == nil {
			continue
		}
		for _, s := range m.Status.Memcached {
			rep := route.Report{State: reportedState(s), Received: m.LastSeen}
			if old, ok := out[s.Addr]; ok && (old.State != route.StateUp ||
				rep.State == route.StateUp && old.Received.Before(rep.Received)) {
				continue
			}
			out[s.Addr] = rep
		}
	}
	return out
}

// reportedState reads a sidecar's state of a server; a sidecar that does
// not say (an older version) has only Up, and a state this build does not
// know is not up.
func reportedState(s region.ServerStatus) route.State {
	if s.State == "" {
		if s.Up {
			return route.StateUp
		}
		return route.StateDown
	}
	st, err := route.ParseState(s.State)
	if err != nil {
		return route.StateDown
	}
	return st
}

// ready takes a fresh snapshot; status judges its own.
func (p *proxyPart) ready() error { return servable(proxyServers(p.srv.ServersUp()), p.pool) }

// servable is the proxy's readiness: it serves every key while each pool
// server is up, or while the gutter that takes a down one's keys is. Some
// memcached server of a large pool is always down; a proxy that turned
// unready for it would be taken out of rotation with its gutter.
func servable(servers []region.ServerStatus, pool int) error {
	down := firstDown(servers[:pool])
	if down == nil || pool == len(servers) {
		return down
	}
	if err := firstDown(servers[pool:]); err != nil {
		return fmt.Errorf("%w, and its keys' gutter: %w", down, err)
	}
	return nil
}

// proxyServers is the proxy's view of the pool as the status shows it.
func proxyServers(in []proxy.ServerState) []region.ServerStatus {
	var out []region.ServerStatus
	for _, s := range in {
		out = append(out, region.ServerStatus{Addr: s.Addr, Up: s.Up})
	}
	return out
}

func (p *proxyPart) status() region.NodeStatus {
	st := p.srv.Stats()
	ns := region.NodeStatus{Proxy: &region.ProxyStatus{
		Connections: st.Connections, Hits: st.Hits, Misses: st.Misses, HitRate: region.HitRate(st.Hits, st.Misses),
		LeasesGranted: st.LeasesGranted, HotMisses: st.HotMisses, StaleServed: st.StaleServed,
		LeaseSetsRejected: st.LeaseSetsRejected, BackendErrors: st.BackendErrors,
	}}
	ns.Memcached = proxyServers(p.srv.ServersUp())
	if err := firstDown(ns.Memcached); err != nil {
		ns.Problems = append(ns.Problems, err.Error())
	}
	ns.Healthy = len(ns.Problems) == 0
	return ns
}
