package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/invalidator"
	"github.com/cachesync/cachesync/invalidator/audit"
	"github.com/cachesync/cachesync/region"
	"github.com/cachesync/cachesync/replication"
)

func cmdSidecar(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("sidecar", stderr)
	path := fs.String("config", "", "config file (see README: the annotated config)")
	dev := fs.Bool("dev", false, "human-readable console logs instead of JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfigFlag(fs, *path, config.RoleSidecar)
	if err != nil {
		return err
	}
	if len(cfg.Postgres) > 1 {
		return fmt.Errorf("config %s: postgres lists %d sources; this build runs one source per sidecar", *path, len(cfg.Postgres))
	}
	return runRole(ctx, cfg, *dev, "sidecar", newSidecar)
}

// sidecar is one region's replication + invalidation, plus membership and
// HTTP. It owns the wiring only; each part keeps its own promises.
type sidecar struct {
	cfg     Config
	src     config.Source
	log     *zap.Logger
	inv     *invalidator.Invalidator
	stream  *replication.Stream
	monitor *replication.Monitor
	beats   *replication.Heartbeater
	gate    closingGate
	replica *invalidator.ReplicaGate // nil in a region that reads the primary
	e2e     *region.LagWindow
	check   *audit.Monitor // the consistency monitor
}

// closingGate is a gate that holds a database connection.
type closingGate interface {
	invalidator.Gate
	Close() error
}

// streamAcker breaks the cycle between the invalidator (which acks) and the
// stream (which needs the invalidator as its handler); what is acked is
// delivered, which the consistency monitor waits for.
type streamAcker struct {
	s   *replication.Stream
	mon *audit.Monitor
}

func (a *streamAcker) Ack(end replication.LSN) {
	a.s.Ack(end)
	a.mon.Delivered(end)
}

func newSidecar(cfg Config, log *zap.Logger, m *metrics) (part, error) {
	s := &sidecar{cfg: cfg, src: cfg.Postgres[0], log: log, e2e: region.NewLagWindow(5 * time.Minute)}
	src := s.src
	ccfg := cfg.Monitor(src)
	ccfg.Logger, ccfg.Registerer = log, m.reg
	check, err := audit.NewMonitor(ccfg)
	if err != nil {
		return nil, fmt.Errorf("consistency: %w", err)
	}
	s.check = check
	acker := &streamAcker{mon: check}

	icfg := invalidator.DefaultConfig()
	icfg.Tables = map[string]invalidator.TableRule{}
	for name, t := range cfg.Tables {
		icfg.Tables[name] = invalidator.TableRule{Keys: t.Keys, Truncate: t.Truncate}
	}
	icfg.Servers = cfg.Memcache.Servers
	icfg.Hash = cfg.Memcache.Hash
	icfg.Mode = cfg.Memcache.Invalidate
	icfg.StaleTTL = time.Duration(cfg.Memcache.StaleTTL)
	icfg.BatchSize = cfg.Memcache.BatchSize
	icfg.BatchDelay = time.Duration(cfg.Memcache.BatchDelay)
	icfg.Acker = acker
	icfg.Sampler = check
	icfg.Logger = log
	icfg.Registerer = m.reg
	icfg.OnHeartbeat = func(node string, sent, done time.Time) {
		if node == cfg.Node {
			s.e2e.Add(done, done.Sub(sent))
		}
	}
	if src.Replica != "" {
		gc := invalidator.DefaultReplicaGateConfig()
		gc.DSN, gc.Logger = src.Replica, log
		s.replica = invalidator.NewReplicaGate(gc)
		s.gate = s.replica
	} else {
		gc := invalidator.DefaultPrimaryVisibilityConfig()
		gc.DSN, gc.Logger = src.Source, log
		s.gate = invalidator.NewPrimaryVisibility(gc)
	}
	icfg.Gate = s.gate
	inv, err := invalidator.New(icfg)
	if err != nil {
		return nil, fmt.Errorf("invalidator: %w", err)
	}
	s.inv = inv

	rcfg := replication.DefaultConfig()
	rcfg.DSN = src.Source
	rcfg.Slot = src.Slot
	rcfg.Publication = src.Publication
	rcfg.Tables = inv.Tables()
	rcfg.StatusInterval = time.Duration(src.StatusInterval)
	rcfg.Logger = log.Named("replication")
	rcfg.Registerer = m.reg
	rcfg.OnNewSlot = s.onNewSlot
	stream, err := replication.NewStream(rcfg, inv)
	if err != nil {
		return nil, fmt.Errorf("replication: %w", err)
	}
	acker.s = stream
	s.stream = stream

	mcfg := replication.MonitorConfig{
		DSN: src.Source, Slot: src.Slot, Interval: time.Second,
		WarnBytes: int64(src.RetainedWALWarnBytes), Logger: log.Named("slot"), Registerer: m.reg,
		OnServerStopping: stream.Disconnect,
	}
	s.monitor = replication.NewMonitor(mcfg)
	s.registerMetrics(m)
	s.beats = replication.NewHeartbeater(replication.HeartbeatConfig{
		DSN: src.Source, Node: cfg.Node, Interval: time.Duration(src.HeartbeatInterval), Logger: log.Named("heartbeat"),
	})
	return s, nil
}

// onNewSlot runs before a slot that had to be created is consumed: what
// happened before it is unknown, so the region's cache cannot be trusted.
func (s *sidecar) onNewSlot(ctx context.Context, reason string) error {
	if !s.src.FlushOnNewSlot {
		s.log.Error("replication slot is new: invalidations before it are unknown and postgres.flush_on_new_slot is false, so the cache may hold stale values until their TTL",
			zap.String("slot", s.src.Slot), zap.String("reason", reason))
		return nil
	}
	s.log.Warn("replication slot is new: flushing this region's memcached before consuming it",
		zap.String("slot", s.src.Slot), zap.String("reason", reason))
	if err := s.inv.FlushAll(ctx); err != nil {
		return fmt.Errorf("flush memcached for new slot %s: %w", s.src.Slot, err)
	}
	return nil
}

// registerMetrics exports the figures that only the wiring has: the
// heartbeat lag window and the replica as the gate sees it.
func (s *sidecar) registerMetrics(m *metrics) {
	for _, q := range []struct {
		label string
		pick  func(*region.LagStats) float64
	}{{"0.5", func(l *region.LagStats) float64 { return l.P50 }}, {"0.99", func(l *region.LagStats) float64 { return l.P99 }}} {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "cachesync_e2e_lag_seconds",
			Help:        "Heartbeat time from emission on the primary to invalidated in this region, over the last 5 minutes (NaN before the first).",
			ConstLabels: prometheus.Labels{"quantile": q.label, "region": s.cfg.Region},
		}, func() float64 {
			if st := s.e2e.Stats(time.Now()); st != nil {
				return q.pick(st)
			}
			return math.NaN()
		}))
	}
	if s.replica == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cachesync_replica_up", Help: "1 when the region's replica answered the last poll and is in recovery; invalidations are held while 0.",
		ConstLabels: prometheus.Labels{"region": s.cfg.Region},
	}, func() float64 {
		if s.replica.State().Up {
			return 1
		}
		return 0
	}))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cachesync_replica_replay_lag_seconds", Help: "now() minus the replica's last replayed commit time, as the replica reports it.",
		ConstLabels: prometheus.Labels{"region": s.cfg.Region},
	}, func() float64 { return s.replica.State().Lag.Seconds() }))
}

// checkCatalog refuses to start when a template cannot be rendered from
// what the tables' replica identity sends. PostgreSQL being down is not a
// reason to exit: it is retried.
func (s *sidecar) checkCatalog(ctx context.Context) error {
	delay := 100 * time.Millisecond
	logged := false
	for {
		conn, err := pgx.Connect(ctx, s.src.Source)
		if err == nil {
			err = s.inv.CheckCatalog(ctx, conn)
			conn.Close(context.Background())
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !logged {
			s.log.Warn("primary unreachable; retrying before the catalog check",
				zap.String("error", replication.ScrubSecrets(err.Error())))
			logged = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

func (s *sidecar) Run(ctx context.Context) error {
	if s.replica != nil {
		// Unreachable is retried by the gate; answering "not in recovery"
		// is a config error.
		if err := s.replica.CheckInRecovery(ctx); errors.Is(err, invalidator.ErrNotReplica) {
			return err
		}
	}
	if err := s.checkCatalog(ctx); err != nil {
		return fmt.Errorf("catalog check: %w", err)
	}
	return runAll(ctx, s.inv.Run, s.stream.Run, s.monitor.Run, s.beats.Run, s.watchReplica, s.check.Run, s.watchCatalog)
}

// watchCatalog re-adds configured tables that leave the publication and
// re-checks partitions while running (invalidator.Watch).
func (s *sidecar) watchCatalog(ctx context.Context) error {
	wc := invalidator.DefaultWatchConfig()
	wc.DSN, wc.Publication = s.src.Source, s.src.Publication
	return s.inv.Watch(ctx, wc)
}

// watchReplica keeps the replica's figures fresh for the dashboard while no
// batch waits at the gate (the gate polls on its own while one does).
func (s *sidecar) watchReplica(ctx context.Context) error {
	if s.replica == nil {
		return nil
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		s.replica.Refresh(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *sidecar) Close() {
	s.stream.Close()
	s.inv.Close()
	s.gate.Close()
	s.check.Close()
}

// ready takes fresh snapshots; status judges its own.
func (s *sidecar) ready() error {
	return sidecarReadiness(s.stream.Status(), invServers(s.inv.Stats().ServersUp), s.replicaState())
}

// replicaState is the replica as the gate last saw it; nil without one.
func (s *sidecar) replicaState() *invalidator.ReplicaState {
	if s.replica == nil {
		return nil
	}
	rs := s.replica.State()
	return &rs
}

// sidecarReadiness is /readyz's answer for these snapshots; replica is nil
// in a region that reads the primary.
func sidecarReadiness(st replication.StreamStatus, servers []region.ServerStatus, replica *invalidator.ReplicaState) error {
	switch {
	case st.Standby:
		return fmt.Errorf("standing by: another sidecar holds slot %s", st.Slot)
	case !st.Streaming:
		return fmt.Errorf("not streaming from the primary: %s", replication.ScrubSecrets(st.LastError))
	}
	if err := firstDown(servers); err != nil {
		return err
	}
	if replica != nil && !replica.Up {
		if replica.Problem != "" {
			return errors.New(replica.Problem)
		}
		return errors.New("replica not reached yet: invalidations are held")
	}
	return nil
}

// invServers is the invalidator's view of the pool as the status shows it.
func invServers(in []invalidator.ServerState) []region.ServerStatus {
	var out []region.ServerStatus
	for _, srv := range in {
		out = append(out, region.ServerStatus{Addr: srv.Addr, Up: srv.Up})
	}
	return out
}

func (s *sidecar) status() region.NodeStatus {
	now := time.Now()
	st := s.stream.Status()
	slot := s.monitor.Status()
	inv := s.inv.Stats()
	rs := s.replicaState()
	ns := region.NodeStatus{
		Active:              st.Streaming && !st.Standby,
		Slot:                &region.SlotStatus{Name: st.Slot, ReceivedLSN: st.ReceivedLSN.String(), ConfirmedLSN: slot.ConfirmedLSN.String(), PrimaryLSN: slot.PrimaryLSN.String(), RetainedWALBytes: slot.RetainedBytes, WarnBytes: int64(s.src.RetainedWALWarnBytes), WALStatus: slot.WALStatus, Streaming: st.Streaming},
		E2ELag:              s.e2e.Stats(now),
		InvalidationsPerSec: inv.InvalidationsPerSec,
		QueueDepth:          inv.QueueDepth,
		Memcached:           invServers(inv.ServersUp),
		Consistency:         consistencyStatus(s.check),
	}
	if rs != nil {
		ns.Replica = &region.ReplicaStatus{Up: rs.Up, ReplayLSN: rs.ReplayLSN.String(), LagSeconds: rs.Lag.Seconds()}
		if slot.PrimaryLSN > rs.ReplayLSN && rs.ReplayLSN != 0 {
			ns.Replica.LagBytes = int64(slot.PrimaryLSN - rs.ReplayLSN)
		}
	}
	if err := sidecarReadiness(st, ns.Memcached, rs); err != nil {
		ns.Problems = append(ns.Problems, err.Error())
	}
	ns.Problems = append(ns.Problems, s.inv.SchemaProblems()...)
	if slot.Warn {
		ns.Problems = append(ns.Problems, fmt.Sprintf("slot retains %d bytes of WAL (warn at %d)", slot.RetainedBytes, s.src.RetainedWALWarnBytes))
	}
	ns.Healthy = len(ns.Problems) == 0 || (st.Standby && len(ns.Problems) == 1)
	return ns
}
