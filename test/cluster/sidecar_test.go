package cluster

import (
	"testing"
	"time"

	"github.com/cachesync/cachesync/cmd/config"
)

// The harness writes its files as a map of the keys it sets (it cannot
// import cmd/config: config imports the libraries for their defaults, and
// their own tests import this package). The binary's strict loader is the
// check that every key written is cmd/config's, with the value meant, and
// that what the test leaves out keeps the schema's default.
func TestWriteSidecarConfigIsTheSchema(t *testing.T) {
	t.Parallel()
	off := false
	cfg, path := WriteSidecarConfig(t, SidecarConfig{
		Source: "postgres://cachesync@127.0.0.1:5432/app", Replica: "postgres://cachesync@127.0.0.1:5433/app",
		Slot: "s1", Publication: "p1", Servers: []string{"127.0.0.1:11211"}, Invalidate: "delete", StaleTTL: 7 * time.Second,
		StatusInterval: 100 * time.Millisecond, HeartbeatInterval: 200 * time.Millisecond, FlushOnNewSlot: &off,
		Tables: map[string][]string{"public.users": {"user:{id}"}}, Values: map[string]string{"public.users": "{id}"},
		Consistency: &ConsistencyConfig{Sample: 0.5, After: time.Second, MaxPerSecond: 9}, Join: []string{"127.0.0.1:7946"},
	})
	got, err := config.Load(path, config.RoleSidecar)
	if err != nil {
		t.Fatalf("the binary's loader refuses the harness's file: %v", err)
	}
	src, mc, cc := got.Postgres[0], got.Memcache, got.Consistency
	switch {
	case got.Region != "test" || got.Node != "test-1":
		t.Errorf("region/node = %s/%s, want test/test-1", got.Region, got.Node)
	case src.Source != cfg.Source || src.Replica != cfg.Replica || src.Slot != "s1" || src.Publication != "p1":
		t.Errorf("postgres = %+v", src)
	case src.StatusInterval != config.Duration(100*time.Millisecond) || src.HeartbeatInterval != config.Duration(200*time.Millisecond) || src.FlushOnNewSlot:
		t.Errorf("postgres intervals/flush = %+v", src)
	case len(mc.Servers) != 1 || mc.Invalidate != "delete" || mc.StaleTTL != config.Duration(7*time.Second):
		t.Errorf("memcache = %+v", mc)
	case got.Tables["public.users"].Value != "{id}" || len(got.Tables["public.users"].Keys) != 1:
		t.Errorf("tables = %+v", got.Tables)
	case cc.Sample != 0.5 || cc.After != config.Duration(time.Second) || cc.MaxPerSecond != 9:
		t.Errorf("consistency = %+v", cc)
	case len(got.Cluster.Join) != 1 || got.HTTP.Listen != cfg.HTTPListen || got.Cluster.Bind != cfg.ClusterBind || got.Proxy.Listen != cfg.ProxyListen:
		t.Errorf("cluster/http/proxy = %+v %+v %+v", got.Cluster, got.HTTP, got.Proxy)
	}

	_, path = WriteSidecarConfig(t, SidecarConfig{Source: cfg.Source, Servers: cfg.Servers, Tables: cfg.Tables})
	got, err = config.Load(path, config.RoleSidecar)
	if err != nil {
		t.Fatal(err)
	}
	def, defSrc := config.Default(), config.DefaultSource()
	src = got.Postgres[0]
	if src.Slot != config.DefaultSlot("test") || src.Publication != defSrc.Publication || src.FlushOnNewSlot != defSrc.FlushOnNewSlot ||
		src.StatusInterval != defSrc.StatusInterval || got.Memcache.Invalidate != def.Memcache.Invalidate || got.Consistency != def.Consistency {
		t.Errorf("unset fields do not keep the schema's defaults: %+v %+v %+v", src, got.Memcache, got.Consistency)
	}
}
