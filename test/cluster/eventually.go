package cluster

import (
	"context"
	"time"

	"github.com/cachesync/cachesync/cmd/local"
)

// Eventually polls cond until it returns nil, and fails the test with the
// last error if that has not happened within timeout.
func Eventually(t TB, timeout time.Duration, cond func() error) {
	t.Helper()
	if err := Poll(timeout, cond); err != nil {
		t.Fatalf("condition not met within %s: %v", timeout, err)
	}
}

// Poll is Eventually for code that reports errors instead of failing a
// test: it returns nil once cond does, or cond's last error at the timeout.
func Poll(timeout time.Duration, cond func() error) error {
	return local.Poll(context.Background(), timeout, cond)
}
