package local

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// MemcachedBin is the memcached binary this package runs.
const MemcachedBin = "/usr/bin/memcached"

const mcReadyTimeout = 10 * time.Second

// Memcached is one memcached server on 127.0.0.1.
type Memcached struct {
	args []string
	port int
	out  *RingBuffer

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// MCOption configures StartMemcached.
type MCOption func(*mcConfig)

type mcConfig struct {
	memoryMB int
	itemSize string
	conns    int
}

// WithMemoryMB sets -m, the cache size in megabytes (default 64).
func WithMemoryMB(mb int) MCOption { return func(c *mcConfig) { c.memoryMB = mb } }

// WithItemSize sets -I, the largest item (e.g. "2m").
func WithItemSize(size string) MCOption { return func(c *mcConfig) { c.itemSize = size } }

// WithMaxConns sets -c, the connection limit.
func WithMaxConns(n int) MCOption { return func(c *mcConfig) { c.conns = n } }

// StartMemcached starts memcached on a free port and returns once it answers
// "version". Close kills it.
func StartMemcached(opts ...MCOption) (*Memcached, error) {
	cfg := mcConfig{memoryMB: 64}
	for _, o := range opts {
		o(&cfg)
	}
	m := &Memcached{out: NewRingBuffer(64 << 10)}
	m.args = []string{"-U", "0", "-m", strconv.Itoa(cfg.memoryMB)}
	if cfg.itemSize != "" {
		m.args = append(m.args, "-I", cfg.itemSize)
	}
	if cfg.conns > 0 {
		m.args = append(m.args, "-c", strconv.Itoa(cfg.conns))
	}
	if os.Geteuid() == 0 {
		m.args = append(m.args, "-u", "nobody")
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if m.port, err = FreePort(); err != nil {
			break
		}
		if err = m.start(); err == nil || !strings.Contains(m.out.String(), "failed to listen") {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("start memcached: %w", err)
	}
	return m, nil
}

// Addr is host:port.
func (m *Memcached) Addr() string { return fmt.Sprintf("127.0.0.1:%d", m.port) }

// Port is the TCP port, stable across Kill/Restart.
func (m *Memcached) Port() int { return m.port }

// LogTail is the last n lines of memcached's output.
func (m *Memcached) LogTail(n int) string { return tailLines(m.out.String(), n) }

func (m *Memcached) start() error {
	args := append([]string{"-l", "127.0.0.1", "-p", strconv.Itoa(m.port)}, m.args...)
	cmd := exec.Command(MemcachedBin, args...)
	cmd.Stdout, cmd.Stderr = m.out, m.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	exited, err := launch(cmd)
	if err != nil {
		return fmt.Errorf("exec memcached: %w", err)
	}
	m.mu.Lock()
	m.cmd, m.exited = cmd, exited
	m.mu.Unlock()

	if err := awaitReady(exited, mcReadyTimeout, func() error { return mcVersion(m.Addr()) }); err != nil {
		m.Kill()
		return fmt.Errorf("memcached on port %d not ready: %w\n%s", m.port, err, m.LogTail(LogTailLines))
	}
	return nil
}

func mcVersion(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("version\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "VERSION ") {
		return fmt.Errorf("unexpected reply to version: %q", line)
	}
	return nil
}

// Kill SIGKILLs memcached and waits for it; its contents are lost. A no-op
// when it is not running.
func (m *Memcached) Kill() {
	m.mu.Lock()
	cmd, exited := m.cmd, m.exited
	m.cmd, m.exited = nil, nil
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-exited
}

// Restart kills memcached if it runs and starts it again, empty, on the
// same port.
func (m *Memcached) Restart() error {
	m.Kill()
	if err := m.start(); err != nil {
		return fmt.Errorf("restart memcached: %w", err)
	}
	return nil
}

// Close kills memcached (it has no files). Safe to call twice.
func (m *Memcached) Close() error {
	m.Kill()
	return nil
}

// pauseTimeout bounds how long the threads of a SIGSTOPped memcached may
// take to stop.
const pauseTimeout = 10 * time.Second

// Pause freezes memcached with SIGSTOP and returns once every thread of it
// is stopped. The server keeps its port: the kernel still completes TCP
// handshakes from its listen backlog, but nothing answers.
func (m *Memcached) Pause() error {
	pid, err := m.signal(syscall.SIGSTOP)
	if err != nil {
		return err
	}
	if err := Poll(context.Background(), pauseTimeout, func() error { return allStopped(pid) }); err != nil {
		return fmt.Errorf("pause memcached %s: %w", m.Addr(), err)
	}
	return nil
}

// Resume lets a paused memcached run again (SIGCONT).
func (m *Memcached) Resume() error {
	_, err := m.signal(syscall.SIGCONT)
	return err
}

func (m *Memcached) signal(sig syscall.Signal) (int, error) {
	m.mu.Lock()
	cmd := m.cmd
	m.mu.Unlock()
	if cmd == nil {
		return 0, fmt.Errorf("signal memcached %s: not running", m.Addr())
	}
	if err := syscall.Kill(cmd.Process.Pid, sig); err != nil {
		return 0, fmt.Errorf("signal memcached %s: %w", m.Addr(), err)
	}
	return cmd.Process.Pid, nil
}

// allStopped reads every thread's state from /proc: a signal to a process
// reaches its threads asynchronously.
func allStopped(pid int) error {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, task := range tasks {
		f, err := procStat(filepath.Join(dir, task.Name(), "stat"))
		if err != nil {
			return err
		}
		if len(f) == 0 || f[0] != "T" {
			return fmt.Errorf("thread %s of memcached %d not stopped yet", task.Name(), pid)
		}
	}
	return nil
}
