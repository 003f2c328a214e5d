package main

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/invalidator/audit"
	"github.com/cachesync/cachesync/region"
)

// newConsistency builds a source's consistency monitor (consistency.*):
// it reads the database the region reads, and every configured table
// (by value where the table says what the app caches, else for presence).
func newConsistency(cfg Config, src config.Source, log *zap.Logger, reg prometheus.Registerer) (*audit.Monitor, error) {
	mc := audit.DefaultMonitorConfig()
	mc.Region, mc.Source = cfg.Region, sourceLabel(src)
	mc.DSN, mc.Servers, mc.Hash = src.ReadDSN(), cfg.Memcache.Servers, cfg.Memcache.Hash
	mc.Sample, mc.After, mc.MaxPerSecond = cfg.Consistency.Sample, time.Duration(cfg.Consistency.After), cfg.Consistency.MaxPerSecond
	mc.Tables = map[string]audit.MonitorTable{}
	for name, t := range cfg.Tables {
		mc.Tables[name] = audit.MonitorTable{Keys: t.Keys, Value: t.Value}
	}
	mc.Logger, mc.Registerer = log, reg
	m, err := audit.NewMonitor(mc)
	if err != nil {
		return nil, fmt.Errorf("consistency: %w", err)
	}
	return m, nil
}

// sourceLabel names a source in metrics: its name, or "default" for the
// one unnamed source.
func sourceLabel(src config.Source) string {
	if src.Name != "" {
		return src.Name
	}
	return "default"
}

// consistencyStatus is the monitors' figures as /api/status shows them,
// summed over the sidecar's sources.
func consistencyStatus(mons ...*audit.Monitor) *region.ConsistencyStatus {
	c := &region.ConsistencyStatus{}
	for _, m := range mons {
		st := m.Stats()
		c.Checked += st.Checked
		c.Inconsistent += st.Inconsistent
		c.PresenceChecked += st.PresenceChecked
		c.PresenceInconsistent += st.PresenceInconsistent
		c.Unconfirmed += st.Unconfirmed
		c.Dropped += st.Dropped
		c.Errors += st.Errors
		for _, k := range st.Recent {
			c.Recent = append(c.Recent, region.InconsistentKey(k))
		}
	}
	c.Nines = region.Nines(c.Checked, c.Inconsistent)
	c.PresenceNines = region.Nines(c.PresenceChecked, c.PresenceInconsistent)
	return c
}
