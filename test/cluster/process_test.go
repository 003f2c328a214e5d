package cluster

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestProcessCapturesOutputAndExitCode(t *testing.T) {
	t.Parallel()
	p := StartProcess(t, "sh", "/bin/sh", "-c", "echo out; echo err >&2; exit 3")
	err := p.Wait(10 * time.Second)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Wait = %v, want exit status 3", err)
	}
	if logs := p.Logs(); !strings.Contains(logs, "out") || !strings.Contains(logs, "err") {
		t.Fatalf("logs = %q", logs)
	}
	p.Kill() // after exit: must not block or panic
}

func TestProcessKillAndSignal(t *testing.T) {
	t.Parallel()
	p := StartProcess(t, "sleeper", "/bin/sleep", "60")
	if err := p.Wait(20 * time.Millisecond); err == nil {
		t.Fatal("Wait returned nil for a running process")
	}
	if p.Exited() {
		t.Fatal("Exited true for a running process")
	}
	p.Kill()
	p.Kill()
	if !p.Exited() {
		t.Fatal("still running after Kill")
	}

	q := StartProcess(t, "sleeper2", "/bin/sleep", "60")
	if err := q.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := q.Wait(10 * time.Second); err == nil {
		t.Fatal("SIGTERMed sleep exited cleanly?")
	}
}

func TestModuleRootHoldsGoMod(t *testing.T) {
	t.Parallel()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if wd := mustGetwd(t); wd != filepath.Join(root, "test", "cluster") {
		t.Fatalf("module root %s is not two levels above %s", root, wd)
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	return wd
}
