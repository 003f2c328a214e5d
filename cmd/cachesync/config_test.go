package main

import (
	"bytes"
	"errors"
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

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := loadConfig("testdata/example.yaml", "sidecar")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "west" || cfg.Postgres.Slot != "cachesync_west" || cfg.Memcache.StaleTTL != 30*time.Second ||
		len(cfg.Tables["public.users"].Keys) != 2 || cfg.Proxy.HotMissWait != 50*time.Millisecond {
		t.Fatalf("example config parsed as %+v", cfg)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := parseConfig("min", []byte(minimal), "sidecar")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Postgres.Slot != "cachesync_west" || cfg.Postgres.Publication != "cachesync" ||
		cfg.Memcache.Hash != "ketama" || cfg.Memcache.Invalidate != "stale" ||
		cfg.Tables["public.users"].Truncate != "log" || !cfg.Postgres.FlushOnNewSlot || cfg.Node == "" {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name, yaml, role, want string
	}{
		{"unknown top key", minimal + "memcached: {}\n", "sidecar", "memcached: line"},
		{"unknown nested key", strings.Replace(minimal, "servers:", "hash: ketama\n  severs: [a:1]\n  servers:", 1), "sidecar", "memcache.severs: line"},
		{"unknown table key", strings.Replace(minimal, `keys: ["user:{id}"]`, `keys: ["user:{id}"]`+"\n    key: x", 1), "sidecar", "tables.public.users.key: line"},
		{"no region", strings.Replace(minimal, "region: west", "", 1), "sidecar", "region: required"},
		{"bad hash", strings.Replace(minimal, "memcache:\n", "memcache:\n  hash: md5\n", 1), "sidecar", "memcache.hash: \"md5\": must be ketama or crc32"},
		{"bad duration", strings.Replace(minimal, "memcache:\n", "memcache:\n  stale_ttl: soon\n", 1), "sidecar", `memcache.stale_ttl: "soon" is not a duration`},
		{"bad server", strings.Replace(minimal, "127.0.0.1:11211", "localhost", 1), "sidecar", `memcache.servers: "localhost": expected host:port`},
		{"no source", strings.Replace(minimal, "  source: postgres://cachesync:s3cret@127.0.0.1:5432/app\n", "", 1), "sidecar", "postgres.source: required"},
		{"unqualified table", strings.Replace(minimal, "public.users:", "users:", 1), "sidecar", "tables.users: name the table as schema.table"},
		{"bad template", strings.Replace(minimal, "user:{id}", "user:{id", 1), "sidecar", `tables.public.users.keys: "user:{id": `},
		{"space in template", strings.Replace(minimal, "user:{id}", "user {id}", 1), "sidecar", "user {id}"},
		{"bad invalidate", strings.Replace(minimal, "memcache:\n", "memcache:\n  invalidate: purge\n", 1), "sidecar", "memcache.invalidate: \"purge\": must be stale (md I) or delete"},
		{"env dsn unset", strings.Replace(minimal, "postgres://cachesync:s3cret@127.0.0.1:5432/app", "env:CACHESYNC_TEST_UNSET_DSN", 1), "sidecar", "postgres.source: environment variable CACHESYNC_TEST_UNSET_DSN is not set"},
		{"bad truncate", strings.Replace(minimal, `keys: ["user:{id}"]`, `keys: ["user:{id}"]`+"\n    truncate: ignore", 1), "sidecar", "tables.public.users.truncate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseConfig("f.yaml", []byte(c.yaml), c.role)
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want a ConfigError containing %q", err, c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error:\n%v\nwant it to contain %q", err, c.want)
			}
		})
	}
}

func TestProxyRoleNeedsNoPostgres(t *testing.T) {
	y := "region: east\nmemcache: {servers: [127.0.0.1:11211]}\nproxy: {listen: 127.0.0.1:0}\n"
	if _, err := parseConfig("p.yaml", []byte(y), "proxy"); err != nil {
		t.Fatalf("a proxy-only config must load: %v", err)
	}
	if _, err := parseConfig("p.yaml", []byte(y), "sidecar"); err == nil {
		t.Fatal("the same config must be refused for a sidecar (no postgres.source, no tables)")
	}
}

func TestEnvDSNAndRedaction(t *testing.T) {
	t.Setenv("CACHESYNC_TEST_DSN", "postgres://app:hunter2@127.0.0.1:5432/app")
	y := strings.Replace(minimal, "postgres://cachesync:s3cret@127.0.0.1:5432/app", "env:CACHESYNC_TEST_DSN", 1)
	cfg, err := parseConfig("f.yaml", []byte(y), "sidecar")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Postgres.Source != "postgres://app:hunter2@127.0.0.1:5432/app" {
		t.Fatalf("source = %q, want the variable's value", cfg.Postgres.Source)
	}
	var out bytes.Buffer
	printConfig(&out, cfg)
	if strings.Contains(out.String(), "hunter2") {
		t.Fatalf("check-config printed the password:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "127.0.0.1:5432/app") {
		t.Fatalf("check-config output lost the host:\n%s", out.String())
	}
}

func TestRunExitCodes(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "cachesync ") {
		t.Fatalf("version: code %d, out %q", code, out.String())
	}
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 {
		t.Fatalf("unknown command: code %d, want 2", code)
	}
	errb.Reset()
	if code := run([]string{"check-config", "--config", "testdata/nope.yaml"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no such file") {
		t.Fatalf("missing file: code %d, stderr %q", code, errb.String())
	}
}
