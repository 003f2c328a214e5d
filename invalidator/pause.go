package invalidator

import (
	"context"
	"time"
)

// pause waits d, or until ctx ends, whichever is first; it returns ctx's
// error in the second case. Retry and poll loops share it.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff calls try until it reports done, pausing between attempts: lo
// first, doubling up to hi. It returns try's error once done, or ctx's when
// ctx ends during a pause. try receives the pause that follows a failure
// (lo on the first attempt); it checks ctx itself.
func backoff(ctx context.Context, lo, hi time.Duration, try func(wait time.Duration) (done bool, err error)) error {
	wait := lo
	for {
		if done, err := try(wait); done {
			return err
		}
		if err := pause(ctx, wait); err != nil {
			return err
		}
		wait = min(2*wait, hi)
	}
}
