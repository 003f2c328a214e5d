package config

import (
	"slices"
	"testing"
	"time"
)

// TestLibraryConfigs: every key the invalidator and the proxy read arrives
// in their configs (values unlike the defaults, so a key left out shows).
func TestLibraryConfigs(t *testing.T) {
	cfg, err := Parse("mapped.yaml", []byte(`
region: west
postgres:
  source: postgres://cachesync@127.0.0.1:5432/app
memcache:
  servers: [127.0.0.1:11211]
  gutter: [127.0.0.1:11299]
  gutter_ttl: 7s
  hash: crc32
  invalidate: delete
  stale_ttl: 9s
  batch_size: 64
  batch_delay: 3ms
tables:
  public.users:
    keys: ["user:{id}"]
    truncate: flush
proxy:
  listen: 127.0.0.1:11400
  lease_ttl: 4s
  hot_miss_wait: 20ms
  allow_flush: true
  max_conns: 12
  idle_timeout: 1m
  max_item_size: 2MiB
  classic_leases: false
  classic_stale: true
  classic_lease_limit: 5
`), RoleSidecar)
	if err != nil {
		t.Fatal(err)
	}
	ic := cfg.Invalidator()
	if !slices.Equal(ic.Servers, []string{"127.0.0.1:11211"}) || !slices.Equal(ic.Gutter, []string{"127.0.0.1:11299"}) ||
		ic.GutterTTL != 7*time.Second || ic.Hash != "crc32" || ic.Mode != "delete" || ic.StaleTTL != 9*time.Second ||
		ic.BatchSize != 64 || ic.BatchDelay != 3*time.Millisecond {
		t.Errorf("invalidator config %+v", ic)
	}
	if u := ic.Tables["public.users"]; !slices.Equal(u.Keys, []string{"user:{id}"}) || u.Truncate != "flush" || len(ic.Tables) != 1 {
		t.Errorf("invalidator tables %+v", ic.Tables)
	}
	pc := cfg.ProxyConfig()
	if pc.Listen != "127.0.0.1:11400" || !slices.Equal(pc.Servers, []string{"127.0.0.1:11211"}) || pc.Hash != "crc32" ||
		!slices.Equal(pc.Gutter, []string{"127.0.0.1:11299"}) || pc.GutterTTL != 7*time.Second ||
		pc.LeaseTTL != 4*time.Second || pc.HotMissWait != 20*time.Millisecond || !pc.AllowFlush || pc.MaxConns != 12 ||
		pc.IdleTimeout != time.Minute || pc.MaxItemSize != 2<<20 || pc.ClassicLeases || !pc.ClassicStale || pc.ClassicLeaseLimit != 5 {
		t.Errorf("proxy config %+v", pc)
	}
}
