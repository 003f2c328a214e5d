package config

import (
	"os"

	"github.com/cachesync/cachesync/invalidator"
	"github.com/cachesync/cachesync/invalidator/audit"
	"github.com/cachesync/cachesync/lease/proxy"
	"github.com/cachesync/cachesync/region"
	"github.com/cachesync/cachesync/replication"
)

// Default is a Config with every default set: what a file that says
// nothing gets, and where a Config filled from Go starts. The libraries'
// own defaults are taken as they are, so the file and the library cannot
// drift apart. It has no sources: append DefaultSource()s.
func Default() Config {
	host, _ := os.Hostname()
	inv, px, rg, mon := invalidator.DefaultConfig(), proxy.DefaultConfig(), region.DefaultConfig(), audit.DefaultMonitorConfig()
	return Config{
		Node: host,
		Memcache: Memcache{
			Hash:       inv.Hash,
			Invalidate: inv.Mode,
			StaleTTL:   Duration(inv.StaleTTL),
			BatchSize:  inv.BatchSize,
			BatchDelay: Duration(inv.BatchDelay),
			GutterTTL:  Duration(px.GutterTTL),
		},
		Proxy: Proxy{
			Listen:            px.Listen,
			LeaseTTL:          Duration(px.LeaseTTL),
			HotMissWait:       Duration(px.HotMissWait),
			AllowFlush:        px.AllowFlush,
			MaxConns:          px.MaxConns,
			IdleTimeout:       Duration(px.IdleTimeout),
			MaxItemSize:       ByteSize(px.MaxItemSize),
			Procs:             1,
			ClassicLeases:     px.ClassicLeases,
			ClassicStale:      px.ClassicStale,
			ClassicLeaseLimit: px.ClassicLeaseLimit,
		},
		Consistency: Consistency{Sample: mon.Sample, After: Duration(mon.After), MaxPerSecond: mon.MaxPerSecond},
		Cluster:     Cluster{Bind: rg.Bind},
		HTTP:        HTTP{Listen: rg.HTTPListen},
	}
}

// DefaultSource is a source with every default but its DSNs and its slot
// (which defaults to cachesync_<region> when the config is checked).
func DefaultSource() Source {
	return Source{
		Publication:          "cachesync",
		FlushOnNewSlot:       true,
		StatusInterval:       Duration(replication.DefaultConfig().StatusInterval),
		HeartbeatInterval:    Duration(replication.DefaultHeartbeatConfig().Interval),
		RetainedWALWarnBytes: ByteSize(replication.DefaultMonitorConfig().WarnBytes),
	}
}

// DefaultSlot is a source's slot when the file names none. Every source
// is on its own server, so the sources of one region share the name.
func DefaultSlot(region string) string { return "cachesync_" + region }

// complete fills the defaults that depend on other keys.
func (c *Config) complete() {
	for i := range c.Postgres {
		if c.Postgres[i].Slot == "" {
			c.Postgres[i].Slot = DefaultSlot(c.Region)
		}
	}
	for name, t := range c.Tables {
		if t.Truncate == "" {
			t.Truncate = invalidator.TruncateLog
			c.Tables[name] = t
		}
	}
}
