package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/invalidator/audit"
	"github.com/cachesync/cachesync/region"
)

// Sidecar is one region's replication and invalidation: a Source per
// primary of the config's postgres list. A standby sidecar (same config,
// another node) takes over each source whose slot the active one lets go.
type Sidecar struct {
	sources []*Source
	// e2e is every source's heartbeats: the region's end-to-end lag.
	e2e *region.LagWindow
}

func newSidecar(f config.Config, log *zap.Logger, reg prometheus.Registerer) (*Sidecar, error) {
	if len(f.Postgres) == 0 {
		return nil, fmt.Errorf("sidecar: no postgres source configured")
	}
	s := &Sidecar{e2e: region.NewLagWindow(e2eWindow)}
	for _, src := range f.Postgres {
		so, err := newSource(f, src, log, reg, s.e2e.Add)
		if err != nil {
			s.Close()
			if src.Name != "" {
				return nil, fmt.Errorf("source %s: %w", src.Name, err)
			}
			return nil, err
		}
		s.sources = append(s.sources, so)
	}
	return s, nil
}

// Listen binds nothing: a sidecar serves only the node's HTTP.
func (s *Sidecar) Listen() error { return nil }

// Run runs every source; one failing (a refused catalog) stops them all.
func (s *Sidecar) Run(ctx context.Context) error {
	fns := make([]func(context.Context) error, len(s.sources))
	for i, so := range s.sources {
		fns[i] = so.Run
	}
	return runAll(ctx, fns...)
}

// Close releases every source.
func (s *Sidecar) Close() {
	var wg sync.WaitGroup
	for _, so := range s.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			so.Close()
		}()
	}
	wg.Wait()
}

// Ready is nil when every source is; else the first source's problem.
func (s *Sidecar) Ready() error {
	for _, so := range s.sources {
		if err := so.Ready(); err != nil {
			return fmt.Errorf("%s%w", so.prefix(), err)
		}
	}
	return nil
}

// Status is every source's status, and the node's figures over them.
func (s *Sidecar) Status() region.NodeStatus {
	now := time.Now()
	snaps := make([]sourceSnapshot, len(s.sources))
	checks := make([]audit.MonitorStats, len(s.sources))
	for i, so := range s.sources {
		snaps[i].status, snaps[i].servers = so.status(now)
		snaps[i].prefix = so.prefix()
		checks[i] = so.check.Stats()
	}
	ns := nodeStatus(s.e2e.Stats(now), snaps)
	ns.Consistency = consistencyStatus(checks...)
	return ns
}

// sourceSnapshot is one source's part of a sidecar's status.
type sourceSnapshot struct {
	status  region.SourceStatus
	servers []region.ServerStatus
	prefix  string
}

// nodeStatus is a sidecar's status from its sources': the sums of their
// rates and queues, the region's end-to-end lag over every source's
// heartbeats (e2e), their problems named by source, a memcached server up
// only where every source reaches it, and, in the single-source fields,
// the slot that retains the most WAL and the replica furthest behind (for
// nodes and dashboards that know one source).
func nodeStatus(e2e *region.LagStats, snaps []sourceSnapshot) region.NodeStatus {
	ns := region.NodeStatus{E2ELag: e2e, Healthy: true}
	pool := map[string]int{}
	for _, sn := range snaps {
		ss := sn.status
		ns.Sources = append(ns.Sources, ss)
		ns.Active = ns.Active || ss.Active
		ns.Healthy = ns.Healthy && ss.Healthy
		ns.InvalidationsPerSec += ss.InvalidationsPerSec
		ns.QueueDepth += ss.QueueDepth
		for _, p := range ss.Problems {
			ns.Problems = append(ns.Problems, sn.prefix+p)
		}
		if ns.Held == nil {
			ns.Held = ss.Held
		}
		if ss.Slot != nil && (ns.Slot == nil || ss.Slot.RetainedWALBytes > ns.Slot.RetainedWALBytes) {
			ns.Slot = ss.Slot
		}
		if worseReplica(ss.Replica, ns.Replica) {
			ns.Replica = ss.Replica
		}
		for _, srv := range sn.servers {
			i, seen := pool[srv.Addr]
			switch {
			case !seen:
				pool[srv.Addr] = len(ns.Memcached)
				ns.Memcached = append(ns.Memcached, srv)
			case worseServer(srv, ns.Memcached[i]):
				ns.Memcached[i] = srv
			}
		}
	}
	return ns
}

// worseServer: a server down from one source is down; one that a source
// reports in a state other than up (catching up, owed a flush) is not up.
func worseServer(s, than region.ServerStatus) bool {
	if s.Up != than.Up {
		return !s.Up
	}
	return s.State != "" && s.State != than.State && (than.State == "" || than.State == "up")
}

// worseReplica: a replica that is down, else one further behind.
func worseReplica(r, than *region.ReplicaStatus) bool {
	switch {
	case r == nil:
		return false
	case than == nil:
		return true
	case r.Up != than.Up:
		return !r.Up
	}
	return r.LagSeconds > than.LagSeconds
}
