package fleet

import (
	"reflect"
	"testing"
	"time"

	"github.com/cachesync/cachesync/cmd/config"
)

// The file a sidecar runs with is the binary's own loader's: it loads with
// config.Load (strict: no key outside the schema) as exactly the Config the
// harness filled, and each SidecarConfig field lands on its key.
func TestSidecarFileLoadsAsWritten(t *testing.T) {
	t.Parallel()
	off := false
	cfg, path := WriteSidecarConfig(t, SidecarConfig{
		Source: "postgres://cachesync@127.0.0.1:5432/app", Replica: "postgres://cachesync@127.0.0.1:5433/app",
		Slot: "s1", Publication: "p1", Servers: []string{"127.0.0.1:11211"}, Gutter: []string{"127.0.0.1:11212"},
		Invalidate: "delete", StaleTTL: 7 * time.Second,
		StatusInterval: 100 * time.Millisecond, HeartbeatInterval: 200 * time.Millisecond, FlushOnNewSlot: &off,
		Tables: map[string][]string{"public.users": {"user:{id}"}}, Values: map[string]string{"public.users": "{id}"},
		Consistency: &ConsistencyConfig{Sample: 0.5, After: time.Second, MaxPerSecond: 9}, Join: []string{"127.0.0.1:7946"},
		PProf: true,
	})
	got := loadEqual(t, path, cfg.File(), config.RoleSidecar)
	src, mc, cc := got.Postgres[0], got.Memcache, got.Consistency
	switch {
	case got.Region != "test" || got.Node != "test-1":
		t.Errorf("region/node = %s/%s, want test/test-1", got.Region, got.Node)
	case src.Source != cfg.Source || src.Replica != cfg.Replica || src.Slot != "s1" || src.Publication != "p1":
		t.Errorf("postgres = %+v", src)
	case src.StatusInterval != config.Duration(100*time.Millisecond) || src.HeartbeatInterval != config.Duration(200*time.Millisecond) || src.FlushOnNewSlot:
		t.Errorf("postgres intervals/flush = %+v", src)
	case !reflect.DeepEqual(mc.Servers, config.List{"127.0.0.1:11211"}) || !reflect.DeepEqual(mc.Gutter, config.List{"127.0.0.1:11212"}) ||
		mc.Invalidate != "delete" || mc.StaleTTL != config.Duration(7*time.Second):
		t.Errorf("memcache = %+v", mc)
	case got.Tables["public.users"].Value != "{id}" || !reflect.DeepEqual(got.Tables["public.users"].Keys, config.List{"user:{id}"}):
		t.Errorf("tables = %+v", got.Tables)
	case cc.Sample != 0.5 || cc.After != config.Duration(time.Second) || cc.MaxPerSecond != 9:
		t.Errorf("consistency = %+v", cc)
	case !reflect.DeepEqual(got.Cluster.Join, config.List{"127.0.0.1:7946"}) || got.HTTP.Listen != cfg.HTTPListen || !got.HTTP.PProf ||
		got.Cluster.Bind != cfg.ClusterBind || got.Proxy.Listen != cfg.ProxyListen:
		t.Errorf("cluster/http/proxy = %+v %+v %+v", got.Cluster, got.HTTP, got.Proxy)
	}
}

// What a test leaves out is the schema's default, not a default of the
// harness's own.
func TestSidecarFileKeepsTheDefaults(t *testing.T) {
	t.Parallel()
	cfg, path := WriteSidecarConfig(t, SidecarConfig{
		Source: "postgres://cachesync@127.0.0.1:5432/app", Servers: []string{"127.0.0.1:11211"},
		Tables: map[string][]string{"public.users": {"user:{id}"}},
	})
	got := loadEqual(t, path, cfg.File(), config.RoleSidecar)
	def, defSrc := config.Default(), config.DefaultSource()
	src := got.Postgres[0]
	if src.Slot != config.DefaultSlot("test") || src.Publication != defSrc.Publication || src.FlushOnNewSlot != defSrc.FlushOnNewSlot ||
		src.StatusInterval != defSrc.StatusInterval || src.HeartbeatInterval != defSrc.HeartbeatInterval ||
		got.Memcache.Invalidate != def.Memcache.Invalidate || got.Memcache.StaleTTL != def.Memcache.StaleTTL ||
		got.Consistency != def.Consistency || got.Proxy.LeaseTTL != def.Proxy.LeaseTTL {
		t.Errorf("unset fields do not keep the schema's defaults: %+v %+v %+v", src, got.Memcache, got.Consistency)
	}
}

func TestProxyFileLoadsAsWritten(t *testing.T) {
	t.Parallel()
	want := ProxyFile("127.0.0.1:11311", "127.0.0.1:8081", []string{"127.0.0.1:11211"}, func(p *config.Proxy) {
		p.ClassicLeases, p.HotMissWait = false, config.Duration(time.Second)
	})
	got := loadEqual(t, WriteConfig(t, "proxy.yaml", want), want, config.RoleProxy)
	if got.Proxy.ClassicLeases || got.Proxy.HotMissWait != config.Duration(time.Second) || got.Proxy.Listen != "127.0.0.1:11311" || len(got.Postgres) != 0 {
		t.Errorf("proxy = %+v, postgres = %+v", got.Proxy, got.Postgres)
	}
}

// loadEqual loads path as `cachesync <role> --config` does and fails the
// test unless it is want.
func loadEqual(t *testing.T, path string, want config.Config, role config.Role) config.Config {
	t.Helper()
	got, err := config.Load(path, role)
	if err != nil {
		t.Fatalf("the binary's loader refuses the harness's file: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("loaded config differs from the one written:\n got  %+v\n want %+v", got, want)
	}
	return got
}
