package local

import (
	"context"
	"errors"
	"fmt"
	"io"
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

// ProcessOption configures StartProcess.
type ProcessOption func(*processConfig)

type processConfig struct {
	output io.Writer
}

// WithOutput also copies the process's stdout and stderr to w (a log file,
// or a terminal), besides the tail Logs keeps.
func WithOutput(w io.Writer) ProcessOption {
	return func(c *processConfig) { c.output = w }
}

// StartProcess runs bin with args in this process's environment, capturing
// stdout and stderr.
func StartProcess(name, bin string, args []string, opts ...ProcessOption) (*Process, error) {
	var cfg processConfig
	for _, o := range opts {
		o(&cfg)
	}
	cmd := exec.Command(bin, args...)
	p := &Process{name: name, cmd: cmd, out: NewRingBuffer(processOutputBytes), exited: make(chan struct{})}
	var w io.Writer = p.out
	if cfg.output != nil {
		w = io.MultiWriter(p.out, cfg.output)
	}
	cmd.Stdout, cmd.Stderr = w, w
	// Own process group so Kill also reaches anything it spawned; parent
	// death signal so nothing outlives a crashed parent.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Name is the name StartProcess was given.
func (p *Process) Name() string { return p.name }

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Logs returns the captured stdout and stderr (the last MiB).
func (p *Process) Logs() string { return p.out.String() }

// LogTail is the last n lines of Logs.
func (p *Process) LogTail(n int) string { return tailLines(p.Logs(), n) }

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

// Stop asks the process to exit (SIGTERM), waits up to timeout, then kills
// its group. It returns the exit error of a process that did not exit with
// status 0, or a note that it had to be killed.
func (p *Process) Stop(timeout time.Duration) error {
	if !p.Exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	err := p.Wait(timeout)
	p.Kill()
	return err
}

// Close kills the process (Kill); it is there so a Process is an io.Closer.
func (p *Process) Close() error {
	p.Kill()
	return nil
}

// Wait waits up to timeout for the process to exit and returns its exit
// error (nil on status 0), or a timeout error while it still runs.
func (p *Process) Wait(timeout time.Duration) error {
	if p.Exited() {
		return p.waitErr
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.exited:
		return p.waitErr
	case <-t.C:
		return fmt.Errorf("%s (pid %d) still running after %s", p.name, p.Pid(), timeout)
	}
}

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.exited }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// WaitReady polls probe until it returns nil, and gives up at once, with
// the end of the output, when the process exits; kind names it in errors.
func (p *Process) WaitReady(ctx context.Context, timeout time.Duration, kind string, probe func() error) error {
	err := poll(ctx, timeout, p.exited, probe)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errExited):
		return fmt.Errorf("%s %s exited before it was ready: %v\n%s", kind, p.name, p.waitErr, p.LogTail(LogTailLines))
	default:
		return fmt.Errorf("%s %s not ready within %s: %w", kind, p.name, timeout, err)
	}
}

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
	return poll(context.Background(), timeout, exited, probe)
}
