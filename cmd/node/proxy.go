package node

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/lease/proxy"
	"github.com/cachesync/cachesync/lease/route"
	"github.com/cachesync/cachesync/region"
)

// Proxy is the lease-aware memcache proxy role.
type Proxy struct {
	log    *zap.Logger
	srv    *proxy.Server
	cfg    proxy.Config
	region string
	pool   int                    // servers in the pool; ServersUp lists the gutter's after them
	fleet  func() []region.Member // nil until watchFleet
}

// fleetWatcher is a part that learns from the fleet's gossip: the proxy
// reads each memcached server's state from its region's sidecars.
type fleetWatcher interface {
	watchFleet(fleet func() []region.Member)
}

func newProxy(f config.Config, log *zap.Logger, reg prometheus.Registerer) (*Proxy, error) {
	pc := f.ProxyConfig()
	pc.Logger = log.Named("proxy")
	pc.Registerer = reg
	srv, err := proxy.New(pc)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	return &Proxy{log: log, srv: srv, cfg: pc, region: f.Region, pool: len(pc.Servers)}, nil
}

// Listen binds the memcached protocol's address.
func (p *Proxy) Listen() error {
	if err := p.srv.Listen(); err != nil {
		return fmt.Errorf("proxy listen %s: %w", p.cfg.Listen, err)
	}
	// The bound address matters when the config asks for port 0.
	p.log.Info("serving the memcached protocol", zap.String("addr", p.srv.Addr()),
		zap.Strings("servers", p.cfg.Servers), zap.Strings("gutter", p.cfg.Gutter))
	return nil
}

func (p *Proxy) watchFleet(fleet func() []region.Member) { p.fleet = fleet }

// Run serves, and feeds the proxy its region's sidecar reports while it
// does.
func (p *Proxy) Run(ctx context.Context) error {
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

func (p *Proxy) Close() { p.srv.Close() }

// feedInterval is how often the proxy reads the fleet for its sidecars'
// reports: a fraction of the sidecars' status interval (1 s by default), so
// a returned server is back in rotation soon after it is up to date.
const feedInterval = 100 * time.Millisecond

func (p *Proxy) feed(ctx context.Context) {
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

// Ready takes a fresh snapshot; Status judges its own.
func (p *Proxy) Ready() error { return servable(proxyServers(p.srv.ServersUp()), p.pool) }

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

func (p *Proxy) Status() region.NodeStatus {
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
