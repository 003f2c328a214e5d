package config

import (
	"time"

	"github.com/cachesync/cachesync/invalidator"
)

// Invalidator is the region's invalidator (memcache.*, tables.*): the
// sidecar's, and what `cachesync skip` flushes the region with. The caller
// sets the gate, the acker, the sampler, the logger and the registerer.
func (c Config) Invalidator() invalidator.Config {
	ic := invalidator.DefaultConfig()
	ic.Tables = make(map[string]invalidator.TableRule, len(c.Tables))
	for name, t := range c.Tables {
		ic.Tables[name] = invalidator.TableRule{Keys: t.Keys, Truncate: t.Truncate}
	}
	m := c.Memcache
	ic.Servers, ic.Gutter, ic.Hash = m.Servers, m.Gutter, m.Hash
	ic.Mode, ic.StaleTTL, ic.GutterTTL = m.Invalidate, time.Duration(m.StaleTTL), time.Duration(m.GutterTTL)
	ic.BatchSize, ic.BatchDelay = m.BatchSize, time.Duration(m.BatchDelay)
	return ic
}
