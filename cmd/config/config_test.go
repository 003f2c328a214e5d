package config

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

const minimal = `
region: west
postgres:
  source: postgres://cachesync:s3cret@127.0.0.1:5432/app
memcache:
  servers: [127.0.0.1:11211]
tables:
  public.users:
    keys: ["user:{id}"]
`

func TestExampleLoads(t *testing.T) {
	cfg, err := Load("testdata/example.yaml", RoleSidecar)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "west" || len(cfg.Postgres) != 1 || cfg.Postgres[0].Slot != "cachesync_west" ||
		cfg.Memcache.StaleTTL != Duration(30*time.Second) || len(cfg.Tables["public.users"].Keys) != 2 ||
		cfg.Proxy.HotMissWait != Duration(50*time.Millisecond) || cfg.Postgres[0].RetainedWALWarnBytes != 1<<30 ||
		cfg.Proxy.MaxItemSize != 1<<20 || cfg.Consistency.Sample != 0.001 {
		t.Fatalf("example config parsed as %+v", cfg)
	}
}

// TestExampleShowsEveryKey keeps the annotated example complete: every key
// of the schema appears in it.
func TestExampleShowsEveryKey(t *testing.T) {
	data, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var walk func(reflect.Type, string)
	n := 0
	walk = func(typ reflect.Type, path string) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			key := yamlKey(f)
			n++
			if !strings.Contains(string(data), key+":") {
				t.Errorf("example.yaml does not show %s", joinKey(path, key))
			}
			ft := f.Type
			if ft.Kind() == reflect.Map || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				walk(ft, joinKey(path, key))
			}
		}
	}
	walk(configType, "")
	if n < 40 {
		t.Fatalf("walked only %d keys", n)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse("min", []byte(minimal), RoleSidecar)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Postgres[0]
	if s.Slot != "cachesync_west" || s.Publication != "cachesync" || !s.FlushOnNewSlot ||
		s.StatusInterval != Duration(time.Second) || s.RetainedWALWarnBytes != 1<<30 ||
		cfg.Memcache.Hash != "ketama" || cfg.Memcache.Invalidate != "stale" ||
		cfg.Tables["public.users"].Truncate != "log" || cfg.Node == "" {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
	// DESIGN.md's defaults for the keys other parts wire.
	if cfg.Memcache.GutterTTL != Duration(10*time.Second) || len(cfg.Memcache.Gutter) != 0 ||
		!cfg.Proxy.ClassicLeases || cfg.Proxy.ClassicStale || cfg.Proxy.ClassicLeaseLimit != 100000 || cfg.Proxy.Procs != 1 ||
		cfg.Consistency.Sample != 0.001 || cfg.Consistency.After != Duration(10*time.Second) || cfg.HTTP.PProf {
		t.Fatalf("design defaults not applied: %+v", cfg)
	}
}

func TestProblemsNameTheKey(t *testing.T) {
	cases := []struct {
		name, yaml string
		role       Role
		want       string
	}{
		{"unknown top key", minimal + "memcached: {}\n", RoleSidecar, "memcached: line 10: unknown key (known: cluster, consistency, http, memcache, node, postgres, proxy, region, tables)"},
		{"unknown nested key", strings.Replace(minimal, "servers:", "hash: ketama\n  severs: [a:1]\n  servers:", 1), RoleSidecar, "memcache.severs: line 7: unknown key (known: batch_delay, batch_size, gutter,"},
		{"unknown flow key", minimal + "http: {listen: 127.0.0.1:1, ppfor: true}\n", RoleSidecar, "http.ppfor: line 10: unknown key (known: listen, pprof)"},
		{"unknown table key", strings.Replace(minimal, `keys: ["user:{id}"]`, `keys: ["user:{id}"]`+"\n    key: x", 1), RoleSidecar, "tables.public.users.key: line 10: unknown key"},
		{"unknown source key", strings.Replace(minimal, "  source:", "  sorce: x\n  source:", 1), RoleSidecar, "postgres.sorce: line 4: unknown key (known: flush_on_new_slot, heartbeat_interval, name, publication, replica, retained_wal_warn_bytes, slot, source, status_interval)"},
		{"unknown key in a listed source", strings.Replace(minimal, "postgres:\n  source:", "postgres:\n  - name: shard1\n    slott: x\n    source:", 1), RoleSidecar, "postgres.shard1.slott: line 5: unknown key"},
		{"no region", strings.Replace(minimal, "region: west", "", 1), RoleSidecar, "region: required"},
		{"bad hash", strings.Replace(minimal, "memcache:\n", "memcache:\n  hash: md5\n", 1), RoleSidecar, `memcache.hash: "md5": must be ketama or crc32`},
		{"bad duration", strings.Replace(minimal, "memcache:\n", "memcache:\n  stale_ttl: soon\n", 1), RoleSidecar, `memcache.stale_ttl: "soon" is not a duration (examples: 500ms, 30s, 2m)`},
		{"bad duration in flow", minimal + "proxy: {listen: 127.0.0.1:1, lease_ttl: 5s, hot_miss_wait: soon}\n", RoleSidecar, `proxy.hot_miss_wait: "soon" is not a duration`},
		{"negative duration", strings.Replace(minimal, "memcache:\n", "memcache:\n  batch_delay: -1s\n", 1), RoleSidecar, `memcache.batch_delay: "-1s" is not a duration`},
		{"bad size", strings.Replace(minimal, "  source:", "  retained_wal_warn_bytes: 1TB\n  source:", 1), RoleSidecar, `postgres.retained_wal_warn_bytes: "1TB" is not a non-negative integer (suffixes KiB, MiB, GiB allowed)`},
		{"bad bool", strings.Replace(minimal, "  source:", "  flush_on_new_slot: maybe\n  source:", 1), RoleSidecar, `postgres.flush_on_new_slot: line 4: expected true or false, not "maybe"`},
		{"bad int", strings.Replace(minimal, "memcache:\n", "memcache:\n  batch_size: lots\n", 1), RoleSidecar, `memcache.batch_size: line 6: expected an integer, not "lots"`},
		{"list of mappings", strings.Replace(minimal, "[127.0.0.1:11211]", "[{a: b}]", 1), RoleSidecar, "memcache.servers: expected a list of strings"},
		{"mapping for a list", strings.Replace(minimal, "[127.0.0.1:11211]", "{a: b}", 1), RoleSidecar, "memcache.servers: expected a list"},
		{"scalar postgres", strings.Replace(minimal, "postgres:\n  source: postgres://cachesync:s3cret@127.0.0.1:5432/app", "postgres: here", 1), RoleSidecar, "postgres: expected a mapping (one primary) or a list of named sources"},
		{"bad server", strings.Replace(minimal, "127.0.0.1:11211", "localhost", 1), RoleSidecar, `memcache.servers: "localhost": expected host:port`},
		{"no source", strings.Replace(minimal, "  source: postgres://cachesync:s3cret@127.0.0.1:5432/app\n", "", 1), RoleSidecar, "postgres.source: required"},
		{"null source", strings.Replace(minimal, "  source: postgres://cachesync:s3cret@127.0.0.1:5432/app\n", "  source:\n", 1), RoleSidecar, "postgres.source: required"},
		{"unqualified table", strings.Replace(minimal, "public.users:", "users:", 1), RoleSidecar, "tables.users: name the table as schema.table"},
		{"one quoted name with a dot", strings.Replace(minimal, "public.users:", `'"my.table"':`, 1), RoleSidecar, `tables."my.table": name the table as schema.table`},
		{"three parts", strings.Replace(minimal, "public.users:", "db.public.users:", 1), RoleSidecar, "tables.db.public.users: name the table as schema.table"},
		{"unquoted dash in table", strings.Replace(minimal, "public.users:", "public.my-table:", 1), RoleSidecar, "tables.public.my-table: name the table as schema.table"},
		{"bad template", strings.Replace(minimal, "user:{id}", "user:{id", 1), RoleSidecar, `tables.public.users.keys: "user:{id": `},
		{"space in template", strings.Replace(minimal, "user:{id}", "user {id}", 1), RoleSidecar, "user {id}"},
		{"bad invalidate", strings.Replace(minimal, "memcache:\n", "memcache:\n  invalidate: purge\n", 1), RoleSidecar, `memcache.invalidate: "purge": must be stale (md I) or delete`},
		{"env dsn unset", strings.Replace(minimal, "postgres://cachesync:s3cret@127.0.0.1:5432/app", "env:CACHESYNC_TEST_UNSET_DSN", 1), RoleSidecar, "postgres.source: environment variable CACHESYNC_TEST_UNSET_DSN is not set"},
		{"bad truncate", strings.Replace(minimal, `keys: ["user:{id}"]`, `keys: ["user:{id}"]`+"\n    truncate: ignore", 1), RoleSidecar, `tables.public.users.truncate: "ignore": must be log or flush`},
		{"gutter in the pool", strings.Replace(minimal, "memcache:\n", "memcache:\n  gutter: [127.0.0.1:11211]\n", 1), RoleSidecar, `memcache.gutter: "127.0.0.1:11211" is also in memcache.servers`},
		{"bad gutter", strings.Replace(minimal, "memcache:\n", "memcache:\n  gutter: [gutterhost]\n", 1), RoleSidecar, `memcache.gutter: "gutterhost": expected host:port`},
		{"short gutter ttl", strings.Replace(minimal, "memcache:\n", "memcache:\n  gutter_ttl: 10ms\n", 1), RoleSidecar, "memcache.gutter_ttl: 10ms: must be at least 1s"},
		{"sample over 1", minimal + "consistency: {sample: 1.5}\n", RoleSidecar, "consistency.sample: 1.5: must be between 0 and 1"},
		{"negative sample", minimal + "consistency: {sample: -0.1}\n", RoleSidecar, "consistency.sample: -0.1: must be between 0 and 1"},
		{"bad procs", minimal + "proxy: {procs: -2}\n", RoleProxy, "proxy.procs: -2: must be 0 (one per core) or more"},
		{"bad classic lease limit", minimal + "proxy: {classic_lease_limit: 0}\n", RoleProxy, "proxy.classic_lease_limit: 0: must be at least 1"},
		{"unnamed shard", `
region: west
postgres:
  - name: shard1
    source: postgres://a@10.0.0.1:5432/app
  - source: postgres://a@10.0.0.2:5432/app
memcache: {servers: [127.0.0.1:11211]}
tables: {public.users: {keys: ["user:{id}"]}}
`, RoleSidecar, "postgres[1].name: required when postgres lists several sources"},
		{"shards share a slot on one server", `
region: west
postgres:
  - name: shard1
    source: postgres://a@10.0.0.1:5432/app
  - name: shard2
    source: postgres://a@10.0.0.1:5432/other
memcache: {servers: [127.0.0.1:11211]}
tables: {public.users: {keys: ["user:{id}"]}}
`, RoleSidecar, "postgres.shard2.slot: cachesync_west: another source uses this slot on 10.0.0.1:5432"},
		{"duplicate shard name", `
region: west
postgres:
  - {name: shard1, source: "postgres://a@10.0.0.1:5432/app"}
  - {name: shard1, source: "postgres://a@10.0.0.2:5432/app"}
memcache: {servers: [127.0.0.1:11211]}
tables: {public.users: {keys: ["user:{id}"]}}
`, RoleSidecar, `postgres.shard1.name: "shard1": two sources with the same name`},
		{"shard without source", `
region: west
postgres:
  - {name: shard1, source: "postgres://a@10.0.0.1:5432/app"}
  - {name: shard2}
memcache: {servers: [127.0.0.1:11211]}
tables: {public.users: {keys: ["user:{id}"]}}
`, RoleSidecar, "postgres.shard2.source: required"},
		{"empty", "", RoleSidecar, "empty config"},
		{"not a mapping", "just words\n", RoleSidecar, `line 1: expected a mapping, not "just words"`},
		{"syntax", "region: [west\n", RoleSidecar, "yaml: line"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(c.yaml), c.role)
			var ce *Error
			if !errors.As(err, &ce) || ce.File != "f.yaml" {
				t.Fatalf("error = %v, want an *Error of f.yaml containing %q", err, c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error:\n%v\nwant it to contain %q", err, c.want)
			}
		})
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	y := strings.Replace(minimal, "memcache:\n", "memcache:\n  stale_ttl: soon\n  batch_delay: later\n  serverz: []\n", 1)
	_, err := Parse("f.yaml", []byte(y), RoleSidecar)
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Problems) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
}

func TestProxyRoleNeedsNoPostgres(t *testing.T) {
	y := "region: east\nmemcache: {servers: [127.0.0.1:11211]}\nproxy: {listen: 127.0.0.1:0}\n"
	if _, err := Parse("p.yaml", []byte(y), RoleProxy); err != nil {
		t.Fatalf("a proxy-only config must load: %v", err)
	}
	if _, err := Parse("p.yaml", []byte(y), RoleAny); err != nil {
		t.Fatalf("check-config of a proxy-only config must pass: %v", err)
	}
	if _, err := Parse("p.yaml", []byte(y), RoleSidecar); err == nil {
		t.Fatal("the same config must be refused for a sidecar (no postgres.source, no tables)")
	}
}

func TestListedSources(t *testing.T) {
	y := `
region: west
postgres:
  - name: shard1
    source: postgres://cachesync@10.0.0.1:5432/app
    replica: postgres://cachesync@10.1.0.1:5432/app
  - name: shard2
    source: postgres://cachesync@10.0.0.2:5432/app
    status_interval: 250ms
memcache: {servers: [127.0.0.1:11211]}
tables: {public.users: {keys: ["user:{id}"]}}
`
	cfg, err := Parse("s.yaml", []byte(y), RoleSidecar)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Postgres) != 2 {
		t.Fatalf("postgres = %+v", cfg.Postgres)
	}
	for i, want := range []struct {
		name, replica string
		status        Duration
	}{{"shard1", "postgres://cachesync@10.1.0.1:5432/app", Duration(time.Second)}, {"shard2", "", Duration(250 * time.Millisecond)}} {
		s := cfg.Postgres[i]
		if s.Name != want.name || s.Replica != want.replica || s.StatusInterval != want.status ||
			s.Slot != "cachesync_west" || s.Publication != "cachesync" || !s.FlushOnNewSlot {
			t.Errorf("source %d = %+v (every listed source gets the defaults)", i, s)
		}
	}
	if SourceKey(cfg.Postgres, 1) != "postgres.shard2" {
		t.Errorf("SourceKey = %q", SourceKey(cfg.Postgres, 1))
	}
}

// TestMarshalRoundTrip: what Marshal writes, Parse reads back to the same
// Config; the demo and the harness rely on it.
func TestMarshalRoundTrip(t *testing.T) {
	for _, file := range []string{"testdata/example.yaml"} {
		cfg, err := Load(file, RoleSidecar)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Postgres = append(cfg.Postgres, DefaultSource())
		cfg.Postgres[0].Name, cfg.Postgres[1].Name = "shard1", "shard2"
		cfg.Postgres[1].Source = "postgres://cachesync@127.0.0.2:5432/app"
		cfg.Postgres[1].RetainedWALWarnBytes = 1000
		cfg.Memcache.Gutter = List{"127.0.0.1:11299"}
		proxyOnly := Default()
		proxyOnly.Region, proxyOnly.Memcache.Servers = "p", List{"127.0.0.1:1"}
		for _, c := range []Config{cfg, proxyOnly} {
			data, err := Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse("marshalled", data, RoleAny)
			if err != nil {
				t.Fatalf("%v\n%s", err, data)
			}
			back.complete()
			c.complete()
			if !reflect.DeepEqual(back, c) {
				t.Fatalf("round trip changed the config:\n%+v\n%+v\n%s", c, back, data)
			}
		}
	}
}

func TestMarshalReadable(t *testing.T) {
	cfg, err := Parse("min", []byte(minimal), RoleSidecar)
	if err != nil {
		t.Fatal(err)
	}
	data, err := Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"postgres:\n  source: postgres://", // one primary: today's mapping
		"  retained_wal_warn_bytes: 1GiB\n",
		"  servers: [\"127.0.0.1:11211\"]\n",
		"  stale_ttl: 30s\n",
		"  max_item_size: 1MiB\n",
		"  join: []\n",
		`    keys: ["user:{id}"]`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("marshalled config lacks %q:\n%s", want, data)
		}
	}
}

func TestEnvDSNAndRedaction(t *testing.T) {
	t.Setenv("CACHESYNC_TEST_DSN", "postgres://app:hunter2@127.0.0.1:5432/app")
	y := strings.Replace(minimal, "postgres://cachesync:s3cret@127.0.0.1:5432/app", "env:CACHESYNC_TEST_DSN", 1)
	y = strings.Replace(y, "  source:", "  replica: postgres://app:replpass@127.0.0.1:5433/app\n  source:", 1)
	cfg, err := Parse("f.yaml", []byte(y), RoleSidecar)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Postgres[0].Source != "postgres://app:hunter2@127.0.0.1:5432/app" {
		t.Fatalf("source = %q, want the variable's value", cfg.Postgres[0].Source)
	}
	data, err := Marshal(cfg.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "hunter2") || strings.Contains(string(data), "replpass") {
		t.Fatalf("redacted config has a password:\n%s", data)
	}
	if !strings.Contains(string(data), "127.0.0.1:5432/app") || !strings.Contains(string(data), "127.0.0.1:5433/app") {
		t.Fatalf("redacted config lost the hosts:\n%s", data)
	}
	if cfg.Postgres[0].Source != "postgres://app:hunter2@127.0.0.1:5432/app" {
		t.Fatal("Redacted changed the config it was called on")
	}
}

func TestSizes(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "512": 512, "1KiB": 1024, "2 MiB": 2 << 20, "1GiB": 1 << 30} {
		if got, ok := parseSize(in); !ok || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "-1", "1TB", "1.5GiB", "9999999999GiB"} {
		if _, ok := parseSize(bad); ok {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}

func TestCommaSeparatedList(t *testing.T) {
	y := strings.Replace(minimal, "[127.0.0.1:11211]", `"127.0.0.1:1, 127.0.0.1:2"`, 1)
	cfg, err := Parse("f.yaml", []byte(y), RoleSidecar)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Memcache.Servers, List{"127.0.0.1:1", "127.0.0.1:2"}) {
		t.Fatalf("servers = %q", cfg.Memcache.Servers)
	}
}

// A table name that needs quoting is written as in SQL.
func TestQuotedTableName(t *testing.T) {
	for _, name := range []string{`public."my-table"`, `'"App"."Users"'`} {
		c, err := Parse("f.yaml", []byte(strings.Replace(minimal, "public.users:", name+":", 1)), RoleSidecar)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(c.Tables) != 1 {
			t.Fatalf("%s: tables %v", name, c.Tables)
		}
	}
}
