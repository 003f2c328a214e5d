package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/test/cluster"
)

// WriteConfig marshals c with config.Marshal, the encoder check-config and
// the demo use, into a file called name in a temporary directory removed
// when the test ends, and returns its path. A config is never written by
// hand here: a key the schema does not have cannot be written at all.
func WriteConfig(t testing.TB, name string, c config.Config) string {
	t.Helper()
	data, err := config.Marshal(c)
	if err != nil {
		t.Fatalf("config %s: %v", name, err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("write config %s: %v", path, err)
	}
	return path
}

// freeAddr is a free 127.0.0.1 port for a process's listener.
func freeAddr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(t))
}
