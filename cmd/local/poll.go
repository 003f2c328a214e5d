package local

import (
	"context"
	"errors"
	"time"
)

// pollInterval is short because conditions here are cheap local checks and
// callers should notice a change quickly; it is not a timing assertion.
const pollInterval = 10 * time.Millisecond

// Poll calls cond until it returns nil, and returns nil then, or cond's
// last error once timeout has passed, or ctx's error when ctx is done. An
// error cond wraps with Abort is returned at once (unwrapped).
func Poll(ctx context.Context, timeout time.Duration, cond func() error) error {
	return poll(ctx, timeout, nil, cond)
}

// errExited is poll's answer when its process exited before cond held.
var errExited = errors.New("process exited")

// poll is Poll that also gives up, with errExited, as soon as exited is
// closed: a server that died will not become ready.
func poll(ctx context.Context, timeout time.Duration, exited <-chan struct{}, cond func() error) error {
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		select {
		case <-exited:
			return errExited
		default:
		}
		err := cond()
		if err == nil {
			return nil
		}
		var a abort
		if errors.As(err, &a) {
			return a.err
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Abort marks err as final for Poll: waiting longer cannot help.
func Abort(err error) error { return abort{err} }

type abort struct{ err error }

func (a abort) Error() string { return a.err.Error() }
func (a abort) Unwrap() error { return a.err }
