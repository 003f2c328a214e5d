package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// processOutputBytes bounds the output kept per process.
const processOutputBytes = 1 << 20

// Process is a child process (typically the cachesync binary) whose output
// is captured.
type Process struct {
	name string
	cmd  *exec.Cmd
	out  *RingBuffer

	exited  chan struct{}
	waitErr error // set before exited is closed

	killOnce sync.Once
}

// StartProcess runs bin with args, capturing stdout and stderr. It is killed
// at t.Cleanup, and its output is logged if the test failed.
func StartProcess(t TB, name string, bin string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(bin, args...) // nil Env: the test's environment
	p := &Process{name: name, cmd: cmd, out: NewRingBuffer(processOutputBytes), exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	// Own process group so Kill also reaches anything it spawned; parent
	// death signal so nothing outlives a crashed test binary.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s (%s): %v", name, bin, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s (pid %d) output:\n%s", p.name, p.Pid(), p.Logs())
		}
	})
	return p
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Logs returns the captured stdout and stderr (the last MiB).
func (p *Process) Logs() string { return p.out.String() }

// Signal sends sig to the process (not its group), e.g. SIGTERM to test a
// graceful shutdown.
func (p *Process) Signal(sig os.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	return nil
}

// Kill SIGKILLs the process group and waits for the process to exit. Safe to
// call more than once and after the process exited.
func (p *Process) Kill() {
	p.killOnce.Do(func() {
		select {
		case <-p.exited:
		default:
			_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
		}
		<-p.exited
	})
}

// Wait waits up to timeout for the process to exit and returns its exit
// error (nil on status 0), or a timeout error while it still runs.
func (p *Process) Wait(timeout time.Duration) error {
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(timeout):
		return fmt.Errorf("%s (pid %d) still running after %s", p.name, p.Pid(), timeout)
	}
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// waitReady polls probe until it returns nil, and fails the test early, with
// the end of the output, when the process exits; kind names it in errors.
func (p *Process) waitReady(t TB, timeout time.Duration, kind string, probe func() error) {
	t.Helper()
	Eventually(t, timeout, func() error {
		if p.Exited() {
			return fmt.Errorf("%s exited: %v\n%s", kind, p.Wait(0), tailLines(p.Logs(), logTailLines))
		}
		return probe()
	})
}

var errExited = errors.New("process exited")

// launch starts cmd and returns a channel closed once cmd has exited and
// been waited for: for servers whose output goes elsewhere than a Process.
func launch(cmd *exec.Cmd) (exited chan struct{}, err error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	return exited, nil
}

// awaitReady polls probe until it returns nil, and gives up at once with
// errExited when exited is closed.
func awaitReady(exited <-chan struct{}, timeout time.Duration, probe func() error) error {
	return Poll(timeout, func() error {
		select {
		case <-exited:
			return errExited
		default:
		}
		return probe()
	})
}
