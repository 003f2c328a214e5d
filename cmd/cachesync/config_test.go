package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachesync/cachesync/cmd/config"
)

// TestCheckConfigPrintsTheEffectiveConfig: check-config's output is the
// config with its defaults, passwords redacted, and a file the node reads.
func TestCheckConfigPrintsTheEffectiveConfig(t *testing.T) {
	t.Setenv("CACHESYNC_TEST_DSN", "postgres://app:hunter2@127.0.0.1:5432/app")
	path := filepath.Join(t.TempDir(), "west.yaml")
	y := "region: west\npostgres: {source: env:CACHESYNC_TEST_DSN}\nmemcache: {servers: [127.0.0.1:11211]}\ntables: {public.users: {keys: [\"user:{id}\"]}}\n"
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"check-config", "--config", path}, &out, &errb); code != 0 {
		t.Fatalf("check-config: code %d, stderr %s", code, errb.String())
	}
	printed := out.String()
	if strings.Contains(printed, "hunter2") {
		t.Fatalf("check-config printed the password:\n%s", printed)
	}
	for _, want := range []string{"127.0.0.1:5432/app", "slot: cachesync_west", "stale_ttl: 30s", "# " + path + ": ok"} {
		if !strings.Contains(printed, want) {
			t.Errorf("check-config output lacks %q:\n%s", want, printed)
		}
	}
	back, err := config.Parse("printed", out.Bytes(), config.RoleSidecar)
	if err != nil {
		t.Fatalf("check-config's output does not load: %v\n%s", err, printed)
	}
	if back.Postgres[0].Slot != "cachesync_west" || back.Tables["public.users"].Truncate != "log" {
		t.Fatalf("printed config read back as %+v", back)
	}
	errb.Reset()
	if code := run([]string{"check-config", "--config", path, "--role", "router"}, &out, &errb); code != 2 {
		t.Fatalf("bad --role: code %d, want 2 (stderr %s)", code, errb.String())
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
	errb.Reset()
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("region: west\nmemcache: {servers: [127.0.0.1:1], hash: md5}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := run([]string{"check-config", "--config", path}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), `memcache.hash: "md5": must be ketama or crc32`) {
		t.Fatalf("bad config: code %d, stderr %q", code, errb.String())
	}
}
