package main

import (
	"fmt"
	"sync"

	"go.uber.org/zap"

	"github.com/cachesync/cachesync/test/cluster"
)

// demoTB lets the demo start servers with the test harness (test/cluster)
// outside a test: a failure becomes an error of the start step instead of
// a test failure, and cleanups run when the demo stops.
type demoTB struct {
	log *zap.Logger

	mu       sync.Mutex
	cleanups []func()
	failed   bool
}

var _ cluster.TB = (*demoTB)(nil)

// demoFatal carries a harness failure from Fatalf up to start, which turns
// it back into an error.
type demoFatal struct{ msg string }

func newDemoTB(log *zap.Logger) *demoTB { return &demoTB{log: log} }

func (t *demoTB) Helper() {}

func (t *demoTB) Logf(format string, args ...any) {
	t.log.Debug(fmt.Sprintf(format, args...))
}

func (t *demoTB) Errorf(format string, args ...any) {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
	t.log.Error(fmt.Sprintf(format, args...))
}

// Fatalf must not return (the harness relies on it), so it panics; only
// start recovers it.
func (t *demoTB) Fatalf(format string, args ...any) {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
	panic(demoFatal{msg: fmt.Sprintf(format, args...)})
}

func (t *demoTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *demoTB) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

// start runs step, returning a harness failure (Fatalf) as an error. Other
// panics are bugs and keep panicking.
func (t *demoTB) start(name string, step func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(demoFatal)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("%s: %s", name, f.msg)
		}
	}()
	step()
	return nil
}

// runCleanups runs the registered cleanups last first, as testing does, and
// can be called again (it runs each once).
func (t *demoTB) runCleanups() {
	for {
		t.mu.Lock()
		n := len(t.cleanups)
		if n == 0 {
			t.mu.Unlock()
			return
		}
		f := t.cleanups[n-1]
		t.cleanups = t.cleanups[:n-1]
		t.mu.Unlock()
		// A cleanup that fails must not stop the others from running.
		_ = t.start("cleanup", f)
	}
}
