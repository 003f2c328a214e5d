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
