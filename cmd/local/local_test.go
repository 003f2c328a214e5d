package local

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// reachableDir is a directory the postgres user can reach when the test
// runs as root (t.TempDir is root's, 0700), removed at the end.
func reachableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cachesync-local-test-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err != nil
}

// The guarantee the demo relies on: everything is made inside the directory
// it names, and Close stops the servers and removes what they made.
func TestPostgresAndReplicaLiveInDirAndCloseRemovesThem(t *testing.T) {
	t.Parallel()
	dir := reachableDir(t)
	pg, err := StartPostgres(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	if err := pg.Exec("postgres", "CREATE TABLE t (v int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	r, err := pg.StartReplica(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if got, err := r.QueryString("postgres", "SELECT pg_is_in_recovery()"); err != nil || got != "t" {
		t.Fatalf("replica pg_is_in_recovery() = %q, %v", got, err)
	}
	if n := len(entries(t, dir)); n != 2 {
		t.Fatalf("dir holds %v, want the primary's and the replica's directories", entries(t, dir))
	}
	pid := pg.cmdPid()
	for _, s := range []*Postgres{r, pg} {
		if err := s.Close(); err != nil {
			t.Fatalf("close %s: %v", s.Name(), err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second close %s: %v", s.Name(), err)
		}
		if !refused(s.Addr()) {
			t.Fatalf("%s still accepts connections after Close", s.Name())
		}
	}
	if left := entries(t, dir); len(left) != 0 {
		t.Fatalf("Close left %v in %s", left, dir)
	}
	if live := liveGroupMembers(pid); len(live) != 0 {
		t.Fatalf("processes %v of the primary's group alive after Close", live)
	}
}

func TestStartPostgresFailureReturnsLogAndLeavesNothing(t *testing.T) {
	t.Parallel()
	dir := reachableDir(t)
	_, err := StartPostgres(dir, WithPGConf("shared_buffers", "'lots'"))
	if err == nil {
		t.Fatal("a server with an invalid setting started")
	}
	if !strings.Contains(err.Error(), "shared_buffers") {
		t.Errorf("error does not quote the server's log: %v", err)
	}
	if left := entries(t, dir); len(left) != 0 {
		t.Fatalf("a failed start left %v in %s", left, dir)
	}
}

func TestMemcachedCloseStopsIt(t *testing.T) {
	t.Parallel()
	m, err := StartMemcached()
	if err != nil {
		t.Fatal(err)
	}
	if err := mcVersion(m.Addr()); err != nil {
		t.Fatalf("started memcached does not answer: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if !refused(m.Addr()) {
		t.Fatal("memcached still accepts connections after Close")
	}
}

func TestProcessWaitReadyFailsAtOnceWhenItExits(t *testing.T) {
	t.Parallel()
	p, err := StartProcess("sh", "/bin/sh", []string{"-c", "echo cannot start; exit 4"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	start := time.Now()
	err = p.WaitReady(context.Background(), time.Minute, "test", func() error { return errors.New("not yet") })
	if err == nil || !strings.Contains(err.Error(), "cannot start") || !strings.Contains(err.Error(), "exit status 4") {
		t.Fatalf("WaitReady = %v, want the exit status and the output", err)
	}
	// Not a timing assertion: a minute would mean it waited out the timeout.
	if time.Since(start) > 30*time.Second {
		t.Fatal("WaitReady waited for its timeout although the process had exited")
	}
}

// startTrapped runs a shell that handles SIGTERM with trap, and returns
// once the trap is set.
func startTrapped(t *testing.T, name, trap string) *Process {
	t.Helper()
	p, err := StartProcess(name, "/bin/sh", []string{"-c", "trap '" + trap + "' TERM; echo up; while :; do sleep 0.01; done"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.WaitReady(context.Background(), 10*time.Second, "test", func() error {
		if !strings.Contains(p.Logs(), "up") {
			return errors.New("trap not set yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProcessStopTermsThenKills(t *testing.T) {
	t.Parallel()
	if err := startTrapped(t, "clean", "exit 0").Stop(10 * time.Second); err != nil {
		t.Fatalf("Stop of a process that exits 0 on SIGTERM = %v", err)
	}
	stubborn := startTrapped(t, "stubborn", "")
	if err := stubborn.Stop(100 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("Stop of a process that ignores SIGTERM = %v", err)
	}
	if !stubborn.Exited() {
		t.Fatal("still running after Stop")
	}
	var ee *exec.ExitError
	if err := stubborn.Wait(0); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("exit = %v, want SIGKILL", err)
	}
}

func TestPollHonoursContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Poll(ctx, time.Minute, func() error { return errors.New("never") }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Poll = %v, want context.Canceled", err)
	}
}

func TestRingBufferKeepsTail(t *testing.T) {
	t.Parallel()
	r := NewRingBuffer(8)
	r.Write([]byte("abc"))
	if got := r.String(); got != "abc" {
		t.Fatalf("got %q", got)
	}
	r.Write([]byte("defgh"))
	if got := r.String(); got != "abcdefgh" {
		t.Fatalf("exactly full: got %q", got)
	}
	r.Write([]byte("ij"))
	if got := r.String(); !strings.HasSuffix(got, "\ncdefghij") || !strings.Contains(got, "dropped") {
		t.Fatalf("wrapped: got %q", got)
	}
	r.Write([]byte("0123456789XY"))
	if got := r.String(); !strings.HasSuffix(got, "\n456789XY") {
		t.Fatalf("oversized write: got %q", got)
	}
}

func TestPollStopsAtAnAbort(t *testing.T) {
	t.Parallel()
	final, n := errors.New("final"), 0
	err := Poll(context.Background(), time.Minute, func() error {
		n++
		if n < 3 {
			return errors.New("not yet")
		}
		return Abort(final)
	})
	if err != final || n != 3 {
		t.Fatalf("Poll = %v after %d calls, want the aborting error after 3", err, n)
	}
}

// Kill returns only once the server's shared memory segment is detached,
// which is what lets Start run at once on the same data.
func TestPostgresKillDetachesSharedMemory(t *testing.T) {
	t.Parallel()
	pg, err := StartPostgres("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	if pg.shmDetached() == nil {
		t.Fatal("a running server's segment reads as detached: the check cannot see it")
	}
	if err := pg.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := pg.shmDetached(); err != nil {
		t.Fatalf("after Kill: %v", err)
	}
	if err := pg.Start(); err != nil {
		t.Fatalf("start after kill: %v", err)
	}
}
