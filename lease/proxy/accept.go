package proxy

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// Accept retries back off as net/http's Server does: 5 ms, doubling, at
// most 1 s between tries.
const (
	acceptRetryMin = 5 * time.Millisecond
	acceptRetryMax = time.Second
)

// retryableAccept reports whether an Accept error is a passing condition:
// out of descriptors (EMFILE, ENFILE: connections close and free them), a
// connection reset before it was accepted, or a timeout. The listener is
// still good; anything else ends the accept loop.
func retryableAccept(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// acceptCalm is how long accepts must go without a failure before the
// failing state is over: at the descriptor limit every closing connection
// lets one accept through between failures, which is not a recovery worth
// a log line.
const acceptCalm = time.Second

// acceptBackoff is the accept loop's retry state: the delay before the next
// try, and the failing state, logged once when it starts and once when it
// ends, never per retry.
type acceptBackoff struct {
	delay    time.Duration
	failing  bool
	lastFail time.Time
	failures int
}

// failed records a retryable error at now and returns how long to wait.
func (b *acceptBackoff) failed(log *zap.Logger, err error, now time.Time) time.Duration {
	if !b.failing {
		log.Warn("accepting client connections failed; retrying with backoff until it recovers", zap.Error(err))
		b.failing = true
	}
	b.failures++
	b.lastFail = now
	b.delay = min(max(2*b.delay, acceptRetryMin), acceptRetryMax)
	return b.delay
}

// succeeded records an accepted connection at now; the failing state ends
// once acceptCalm has passed since the last failure.
func (b *acceptBackoff) succeeded(log *zap.Logger, now time.Time) {
	b.delay = 0
	if b.failing && now.Sub(b.lastFail) >= acceptCalm {
		log.Info("accepting client connections again", zap.Int("failed_tries", b.failures))
		b.failing, b.failures = false, 0
	}
}

// sleepCtx waits d; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
