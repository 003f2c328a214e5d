package invalidation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

// runSidecar runs the binary on a config text and returns its exit code and
// stderr; a sidecar that does not exit on its own fails the test.
func runSidecar(t *testing.T, config string) (int, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cluster.Binary(t), "sidecar", "--config", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("sidecar did not exit within 60s on a bad config; stderr:\n%s", stderr.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run sidecar: %v", err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// configText is a complete, valid sidecar config with one part replaced.
func configText(source, memcache, tables string) string {
	return fmt.Sprintf(`region: test
node: test-1
postgres:
  source: %s
  slot: cachesync_bad
memcache:
%s
tables:
%s
proxy:
  listen: 127.0.0.1:0
cluster:
  bind: 127.0.0.1:0
http:
  listen: 127.0.0.1:0
`, source, memcache, tables)
}

const (
	goodMemcache = "  servers: [127.0.0.1:1]"
	goodTables   = "  public.users:\n    keys: [\"user:{id}\"]"
)

func TestBadConfigsExitNamingTheKey(t *testing.T) {
	const src = "postgres://postgres@127.0.0.1:1/app?sslmode=disable"
	cases := []struct {
		name, config string
		want         []string
	}{
		{"missing region", strings.Replace(configText(src, goodMemcache, goodTables), "region: test\n", "", 1),
			[]string{"region"}},
		{"unknown key", configText(src, goodMemcache+"\n  serverz: [127.0.0.1:2]", goodTables),
			[]string{"memcache.serverz"}},
		{"bad invalidate mode", configText(src, goodMemcache+"\n  invalidate: purge", goodTables),
			[]string{"memcache.invalidate", "purge"}},
		{"bad duration", configText(src, goodMemcache+"\n  stale_ttl: soon", goodTables),
			[]string{"memcache.stale_ttl"}},
		{"no memcached", configText(src, "  hash: ketama", goodTables),
			[]string{"memcache.servers"}},
		{"unclosed template", configText(src, goodMemcache, "  public.users:\n    keys: [\"user:{id\"]"),
			[]string{"tables.public.users.keys"}},
		{"no source", configText("", goodMemcache, goodTables),
			[]string{"postgres.source"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stderr := runSidecar(t, c.config)
			if code == 0 {
				t.Fatalf("exit code 0 for a bad config; stderr:\n%s", stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not name %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestCatalogProblemsExitNamingTheTable needs the real catalog: the table's
// replica identity, its columns, whether it exists.
func TestCatalogProblemsExitNamingTheTable(t *testing.T) {
	pg := cluster.StartPostgres(t)
	pg.CreateDB(t, db)
	pg.ExecDB(t, db, "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)")
	mc := cluster.StartMemcached(t)
	memcache := "  servers: [" + mc.Addr() + "]"
	src := pg.DSN(db)

	cases := []struct {
		name, tables string
		want         []string
	}{
		{"replica identity default", "  public.users:\n    keys: [\"user:{id}\", \"user_by_name:{name}\"]",
			[]string{"public.users", "name", "ALTER TABLE public.users REPLICA IDENTITY FULL"}},
		{"unknown column", "  public.users:\n    keys: [\"user:{nope}\"]",
			[]string{"public.users", "nope"}},
		{"unknown table", "  public.nosuch:\n    keys: [\"x:{id}\"]",
			[]string{"public.nosuch"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stderr := runSidecar(t, configText(src, memcache, c.tables))
			if code == 0 {
				t.Fatalf("exit code 0; stderr:\n%s", stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not name %q:\n%s", w, stderr)
				}
			}
		})
	}

	// After the fix the same config starts.
	pg.ExecDB(t, db, "ALTER TABLE public.users REPLICA IDENTITY FULL")
	cfg := fleet.SidecarConfig{Source: src, Slot: "cachesync_fixed", Servers: []string{mc.Addr()},
		Tables: map[string][]string{"public.users": {"user:{id}", "user_by_name:{name}"}}}
	fleet.StartSidecar(t, cfg)
}
