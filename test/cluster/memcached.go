package cluster

import (
	"fmt"

	"github.com/cachesync/cachesync/cmd/local"
)

// MemcachedBin is the memcached binary the harness runs.
const MemcachedBin = local.MemcachedBin

// Memcached is one memcached server on 127.0.0.1; the methods without a TB
// are local.Memcached's.
type Memcached struct {
	*local.Memcached
}

// MCOption configures StartMemcached.
type MCOption = local.MCOption

// WithMemoryMB sets -m, the cache size in megabytes (default 64).
func WithMemoryMB(mb int) MCOption { return local.WithMemoryMB(mb) }

// WithItemSize sets -I, the largest item (e.g. "2m").
func WithItemSize(size string) MCOption { return local.WithItemSize(size) }

// WithMaxConns sets -c, the connection limit.
func WithMaxConns(n int) MCOption { return local.WithMaxConns(n) }

// StartMemcached starts memcached on a free port and returns once it answers
// "version". It is killed at t.Cleanup.
func StartMemcached(t TB, opts ...MCOption) *Memcached {
	t.Helper()
	lm, err := local.StartMemcached(opts...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	closeAtCleanup(t, fmt.Sprintf("memcached %s output", lm.Addr()),
		func() string { return lm.LogTail(LogTailLines) }, lm.Close)
	return &Memcached{lm}
}

// Kill SIGKILLs memcached; its contents are lost.
func (m *Memcached) Kill(t TB) {
	t.Helper()
	m.Memcached.Kill()
}

// Restart kills memcached if it runs and starts it again, empty, on the
// same port.
func (m *Memcached) Restart(t TB) {
	t.Helper()
	if err := m.Memcached.Restart(); err != nil {
		t.Fatalf("%v", err)
	}
}

// Pause freezes memcached with SIGSTOP and returns once every thread of it
// is stopped. The server keeps its port: the kernel still completes TCP
// handshakes from its listen backlog, but nothing answers.
func (m *Memcached) Pause(t TB) {
	t.Helper()
	if err := m.Memcached.Pause(); err != nil {
		t.Fatalf("%v", err)
	}
}

// Resume lets a paused memcached run again (SIGCONT).
func (m *Memcached) Resume(t TB) {
	t.Helper()
	if err := m.Memcached.Resume(); err != nil {
		t.Fatalf("%v", err)
	}
}
