package node

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cachesync/cachesync/invalidator"
	"github.com/cachesync/cachesync/region"
	"github.com/cachesync/cachesync/replication"
)

// registerMetrics exports the figures that only the wiring has: the
// heartbeat lag window and the replica as the gate sees it.
func (s *Source) registerMetrics(reg prometheus.Registerer) {
	for _, q := range []struct {
		label string
		pick  func(*region.LagStats) float64
	}{{"0.5", func(l *region.LagStats) float64 { return l.P50 }}, {"0.99", func(l *region.LagStats) float64 { return l.P99 }}} {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "cachesync_e2e_lag_seconds",
			Help:        "Heartbeat time from emission on the primary to invalidated in this region, over the last 5 minutes (NaN before the first).",
			ConstLabels: prometheus.Labels{"quantile": q.label, "region": s.file.Region},
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
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cachesync_replica_up", Help: "1 when the region's replica answered the last poll and is in recovery; invalidations are held while 0.",
		ConstLabels: prometheus.Labels{"region": s.file.Region},
	}, func() float64 {
		if s.replica.State().Up {
			return 1
		}
		return 0
	}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cachesync_replica_replay_lag_seconds", Help: "now() minus the replica's last replayed commit time, as the replica reports it.",
		ConstLabels: prometheus.Labels{"region": s.file.Region},
	}, func() float64 { return s.replica.State().Lag.Seconds() }))
}

// Ready takes fresh snapshots; status judges its own.
func (s *Source) Ready() error {
	return sourceReadiness(s.stream.Status(), invServers(s.inv.Stats().ServersUp), s.replicaState())
}

// replicaState is the replica as the gate last saw it; nil without one.
func (s *Source) replicaState() *invalidator.ReplicaState {
	if s.replica == nil {
		return nil
	}
	rs := s.replica.State()
	return &rs
}

// sourceReadiness is a source's part of /readyz for these snapshots;
// replica is nil in a region that reads the primary.
func sourceReadiness(st replication.StreamStatus, servers []region.ServerStatus, replica *invalidator.ReplicaState) error {
	switch {
	case st.Held != nil:
		return errors.New(st.Held.String())
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
		out = append(out, region.ServerStatus{Addr: srv.Addr, Up: srv.Up, State: srv.State.String()})
	}
	return out
}

// status is the source's figures and problems, and its invalidator's view
// of the pool.
func (s *Source) status(now time.Time) (region.SourceStatus, []region.ServerStatus) {
	st := s.stream.Status()
	slot := s.monitor.Status()
	inv := s.inv.Stats()
	rs := s.replicaState()
	servers := invServers(inv.ServersUp)
	ss := region.SourceStatus{
		Name:    s.cfg.Name,
		Active:  st.Streaming && !st.Standby,
		Standby: st.Standby,
		Slot: &region.SlotStatus{Name: st.Slot, ReceivedLSN: st.ReceivedLSN.String(), ConfirmedLSN: slot.ConfirmedLSN.String(),
			PrimaryLSN: slot.PrimaryLSN.String(), RetainedWALBytes: slot.RetainedBytes, WarnBytes: int64(s.cfg.RetainedWALWarnBytes),
			WALStatus: slot.WALStatus, Streaming: st.Streaming},
		E2ELag:              s.e2e.Stats(now),
		InvalidationsPerSec: inv.InvalidationsPerSec,
		QueueDepth:          inv.QueueDepth,
		Held:                heldStatus(st.Held),
	}
	if rs != nil {
		ss.Replica = &region.ReplicaStatus{Up: rs.Up, ReplayLSN: rs.ReplayLSN.String(), LagSeconds: rs.Lag.Seconds()}
		if slot.PrimaryLSN > rs.ReplayLSN && rs.ReplayLSN != 0 {
			ss.Replica.LagBytes = int64(slot.PrimaryLSN - rs.ReplayLSN)
		}
	}
	if err := sourceReadiness(st, servers, rs); err != nil {
		ss.Problems = append(ss.Problems, err.Error())
	}
	ss.Problems = append(ss.Problems, s.inv.SchemaProblems()...)
	if slot.Warn {
		ss.Problems = append(ss.Problems, fmt.Sprintf("slot retains %d bytes of WAL (warn at %d)", slot.RetainedBytes, s.cfg.RetainedWALWarnBytes))
	}
	ss.Healthy = len(ss.Problems) == 0 || (st.Standby && len(ss.Problems) == 1)
	return ss, servers
}

// heldStatus is the stream's hold as the status shows it (nil when none).
func heldStatus(h *replication.Hold) *region.HeldStatus {
	if h == nil {
		return nil
	}
	return &region.HeldStatus{Table: h.Table, Columns: h.Columns, Reason: h.Reason, Position: h.Position.String(), Since: h.Since, WaysOut: []string{h.Fix, h.Skip}}
}
