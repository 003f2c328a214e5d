package config

import (
	"time"

	"github.com/cachesync/cachesync/invalidator/audit"
)

// Monitor is the consistency monitor of one source of this region
// (consistency.*): it reads the database the region reads of src, and every
// configured table, by value where the table's value template says what the
// app caches, else for presence. The caller sets Logger and Registerer.
func (c Config) Monitor(src Source) audit.MonitorConfig {
	m := audit.DefaultMonitorConfig()
	m.Region, m.Source = c.Region, src.Label()
	m.DSN, m.Servers, m.Hash = src.ReadDSN(), c.Memcache.Servers, c.Memcache.Hash
	m.Sample, m.After, m.MaxPerSecond = c.Consistency.Sample, time.Duration(c.Consistency.After), c.Consistency.MaxPerSecond
	m.Tables = make(map[string]audit.MonitorTable, len(c.Tables))
	for name, t := range c.Tables {
		m.Tables[name] = audit.MonitorTable{Keys: t.Keys, Value: t.Value}
	}
	return m
}

// Label names a source in metrics and status: its name, or "default" for
// the one unnamed source.
func (s Source) Label() string {
	if s.Name != "" {
		return s.Name
	}
	return "default"
}
