package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// BinaryEnv names a prebuilt cachesync binary to use instead of building one.
const BinaryEnv = "CACHESYNC_BIN"

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// Binary builds ./cmd/cachesync once per test process and returns its path.
// $CACHESYNC_BIN, if set, is used instead.
func Binary(t TB) string {
	t.Helper()
	binaryOnce.Do(func() { binaryPath, binaryErr = buildBinary() })
	if binaryErr != nil {
		t.Fatalf("cachesync binary: %v", binaryErr)
	}
	return binaryPath
}

func buildBinary() (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		return p, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "cachesync")); err != nil {
		return "", fmt.Errorf("%s/cmd/cachesync does not exist yet (the lead is writing it): %w", root, err)
	}
	sweepOldBinaries()
	// Not t.TempDir: the binary outlives the test that first asked for it.
	dir, err := os.MkdirTemp("", fmt.Sprintf("cachesync-bin-%d-*", os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("temp dir: %w", err)
	}
	out := filepath.Join(dir, "cachesync")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/cachesync")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("go build ./cmd/cachesync: %w\n%s", err, b)
	}
	return out, nil
}

// sweepOldBinaries removes binaries built by test processes that are gone,
// since nothing can remove them at the end of the process that built them.
func sweepOldBinaries() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "cachesync-bin-*"))
	for _, d := range dirs {
		parts := strings.Split(filepath.Base(d), "-")
		if len(parts) < 3 {
			continue
		}
		pid, err := strconv.Atoi(parts[2])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(d)
		}
	}
}

// ModuleRoot walks up from the working directory to the directory holding
// go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("module root: no go.mod above the working directory")
		}
		dir = parent
	}
}
