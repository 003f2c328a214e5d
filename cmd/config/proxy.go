package config

import (
	"time"

	"github.com/cachesync/cachesync/lease/proxy"
)

// ProxyConfig is the region's proxy server (proxy.*, memcache.servers,
// hash and gutter). The caller sets the logger and the registerer; Procs
// is the process's, not the server's.
func (c Config) ProxyConfig() proxy.Config {
	pc := proxy.DefaultConfig()
	p, m := c.Proxy, c.Memcache
	pc.Listen, pc.Servers, pc.Hash = p.Listen, m.Servers, m.Hash
	pc.Gutter, pc.GutterTTL = m.Gutter, time.Duration(m.GutterTTL)
	pc.LeaseTTL, pc.HotMissWait = time.Duration(p.LeaseTTL), time.Duration(p.HotMissWait)
	pc.AllowFlush, pc.MaxConns, pc.IdleTimeout = p.AllowFlush, p.MaxConns, time.Duration(p.IdleTimeout)
	pc.MaxItemSize = int(p.MaxItemSize)
	pc.ClassicLeases, pc.ClassicStale, pc.ClassicLeaseLimit = p.ClassicLeases, p.ClassicStale, p.ClassicLeaseLimit
	return pc
}
