package invalidator

import (
	"sync"
	"time"
)

// rateMeter counts events per second over the last few complete seconds:
// recent enough for a dashboard, steady enough not to flicker per batch.
type rateMeter struct {
	mu     sync.Mutex
	counts [rateWindow + 1]uint64
	secs   [rateWindow + 1]int64
}

const rateWindow = 5

func (r *rateMeter) add(now time.Time, n uint64) {
	s := now.Unix()
	i := s % (rateWindow + 1)
	r.mu.Lock()
	if r.secs[i] != s {
		r.secs[i], r.counts[i] = s, 0
	}
	r.counts[i] += n
	r.mu.Unlock()
}

func (r *rateMeter) rate(now time.Time) float64 {
	s := now.Unix()
	var sum uint64
	r.mu.Lock()
	for i := range r.secs {
		if d := s - r.secs[i]; d >= 1 && d <= rateWindow {
			sum += r.counts[i]
		}
	}
	r.mu.Unlock()
	return float64(sum) / rateWindow
}
