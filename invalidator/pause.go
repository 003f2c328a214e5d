package invalidator

import (
	"context"
	"time"

	"github.com/cachesync/cachesync/replication"
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

// backoff calls try until it reports done, pausing between attempts with
// the project's one backoff (replication.Backoff: jittered, from lo doubling
// up to hi). It returns try's error once done, or ctx's when ctx ends during
// a pause. try is told whether it is the first attempt (to log once per
// call); it checks ctx itself.
func backoff(ctx context.Context, lo, hi time.Duration, try func(first bool) (done bool, err error)) error {
	b := replication.Backoff{Min: lo, Max: hi}
	for first := true; ; first = false {
		if done, err := try(first); done {
			return err
		}
		if err := pause(ctx, b.Next()); err != nil {
			return err
		}
	}
}
