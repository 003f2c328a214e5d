package node

import (
	"context"
	"errors"
	"fmt"
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

// e2eWindow is how far back a source's end-to-end lag figures reach.
const e2eWindow = 5 * time.Minute

// Source is one primary's part of a sidecar: its logical replication
// stream, the invalidator that turns its changes into the region's
// invalidations, the gate that holds them for the region's replica of it,
// its slot's monitor and its heartbeats. Its positions are its own: no
// other source's progress or trouble moves them.
type Source struct {
	file    config.Config
	cfg     config.Source
	log     *zap.Logger
	inv     *invalidator.Invalidator
	stream  *replication.Stream
	monitor *replication.Monitor
	beats   *replication.Heartbeater
	gate    closingGate
	replica *invalidator.ReplicaGate // nil in a region that reads the primary
	e2e     *region.LagWindow
	check   *audit.Monitor // the consistency monitor
	// onHeartbeat also feeds the sidecar's window (all sources).
	onHeartbeat func(at time.Time, lag time.Duration)
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

// sourceRegisterer labels a named source's metrics source=<name>, so that
// the sources of one sidecar keep the metric names and differ by the label.
// A single unnamed source keeps the series it always had (dashboards and
// alerts that match their labels exactly go on working).
func sourceRegisterer(reg prometheus.Registerer, name string) prometheus.Registerer {
	if name == "" {
		return reg
	}
	return prometheus.WrapRegistererWith(prometheus.Labels{"source": name}, reg)
}

func newSource(f config.Config, src config.Source, log *zap.Logger, reg prometheus.Registerer,
	onHeartbeat func(time.Time, time.Duration)) (*Source, error) {
	if src.Name != "" {
		log = log.With(zap.String("source", src.Name))
	}
	ccfg := f.Monitor(src) // it labels its own metrics
	ccfg.Logger, ccfg.Registerer = log, reg
	check, err := audit.NewMonitor(ccfg)
	if err != nil {
		return nil, fmt.Errorf("consistency: %w", err)
	}
	reg = sourceRegisterer(reg, src.Name)
	s := &Source{file: f, cfg: src, log: log, e2e: region.NewLagWindow(e2eWindow), check: check, onHeartbeat: onHeartbeat}
	acker := &streamAcker{mon: check}

	icfg := f.Invalidator()
	icfg.Acker = acker
	icfg.Sampler = check
	icfg.Logger = log
	icfg.Registerer = reg
	icfg.OnHeartbeat = s.heartbeat
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
		s.gate.Close()
		s.check.Close()
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
	rcfg.Registerer = reg
	rcfg.OnNewSlot = s.onNewSlot
	rcfg.HoldAdvice = skipAdvice(src.Name)
	stream, err := replication.NewStream(rcfg, inv)
	if err != nil {
		s.inv.Close()
		s.gate.Close()
		s.check.Close()
		return nil, fmt.Errorf("replication: %w", err)
	}
	acker.s = stream
	s.stream = stream

	s.monitor = replication.NewMonitor(replication.MonitorConfig{
		DSN: src.Source, Slot: src.Slot, Interval: time.Second,
		WarnBytes: int64(src.RetainedWALWarnBytes), Logger: log.Named("slot"), Registerer: reg,
		OnServerStopping: stream.Disconnect,
	})
	s.registerMetrics(reg)
	s.beats = replication.NewHeartbeater(replication.HeartbeatConfig{
		DSN: src.Source, Node: f.Node, Interval: time.Duration(src.HeartbeatInterval), Logger: log.Named("heartbeat"),
	})
	return s, nil
}

// heartbeat counts this node's own heartbeats (other regions' sidecars
// emit theirs on the same primary).
func (s *Source) heartbeat(node string, sent, done time.Time) {
	if node != s.file.Node {
		return
	}
	s.e2e.Add(done, done.Sub(sent))
	if s.onHeartbeat != nil {
		s.onHeartbeat(done, done.Sub(sent))
	}
}

// onNewSlot runs before a slot that had to be created is consumed: what
// happened before it is unknown, so the region's cache cannot be trusted.
// The whole region is flushed: any key may hold a row of this primary.
func (s *Source) onNewSlot(ctx context.Context, reason string) error {
	if !s.cfg.FlushOnNewSlot {
		s.log.Error("replication slot is new: invalidations before it are unknown and postgres.flush_on_new_slot is false, so the cache may hold stale values until their TTL",
			zap.String("slot", s.cfg.Slot), zap.String("reason", reason))
		return nil
	}
	s.log.Warn("replication slot is new: flushing this region's memcached before consuming it",
		zap.String("slot", s.cfg.Slot), zap.String("reason", reason))
	if err := s.inv.FlushAll(ctx); err != nil {
		return fmt.Errorf("flush memcached for new slot %s: %w", s.cfg.Slot, err)
	}
	return nil
}

// checkCatalog refuses to start when a template cannot be rendered from
// what the tables' replica identity sends. PostgreSQL being down is not a
// reason to exit: it is retried.
func (s *Source) checkCatalog(ctx context.Context) error {
	// Reaching the primary is retried as the stream's reconnects are.
	rc := replication.DefaultConfig()
	b := replication.Backoff{Min: rc.ReconnectMin, Max: rc.ReconnectMax}
	logged := false
	for {
		conn, err := pgx.Connect(ctx, s.cfg.Source)
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
		case <-time.After(b.Next()):
		}
	}
}

// Run checks the replica and the catalog, then streams until ctx is done
// or a part fails.
func (s *Source) Run(ctx context.Context) error {
	if s.replica != nil {
		// Unreachable is retried by the gate; answering "not in recovery"
		// is a config error.
		if err := s.replica.CheckInRecovery(ctx); errors.Is(err, invalidator.ErrNotReplica) {
			return fmt.Errorf("%s%w", s.prefix(), err)
		}
	}
	if err := s.checkCatalog(ctx); err != nil {
		return fmt.Errorf("%scatalog check: %w", s.prefix(), err)
	}
	return runAll(ctx, s.inv.Run, s.stream.Run, s.monitor.Run, s.beats.Run, s.watchReplica, s.check.Run, s.watchCatalog)
}

// watchCatalog re-adds configured tables that leave the publication and
// re-checks partitions while running (invalidator.Watch).
func (s *Source) watchCatalog(ctx context.Context) error {
	wc := invalidator.DefaultWatchConfig()
	wc.DSN, wc.Publication = s.cfg.Source, s.cfg.Publication
	return s.inv.Watch(ctx, wc)
}

// prefix names a named source in messages that leave it ("source shard1: ").
func (s *Source) prefix() string {
	if s.cfg.Name == "" {
		return ""
	}
	return "source " + s.cfg.Name + ": "
}

// watchReplica keeps the replica's figures fresh for the dashboard while no
// batch waits at the gate (the gate polls on its own while one does).
func (s *Source) watchReplica(ctx context.Context) error {
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

// Close releases the source's connections.
func (s *Source) Close() {
	s.stream.Close()
	s.inv.Close()
	s.gate.Close()
	s.check.Close()
}

// skipAdvice is the second way past a held change, as the sidecar shows it
// (cmd/cachesync's skip command).
func skipAdvice(source string) string {
	cmd := "cachesync skip --config FILE"
	if source != "" {
		cmd += " --source " + source
	}
	return "flush this region's memcached and move past every change made until now: " + cmd + " (the sidecar's config)"
}
