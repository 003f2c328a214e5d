package invalidator

import (
	"sync"
	"time"
)

// rateLog lets one line through per interval and counts the ones it held
// back: a bad table can produce a key error per row, millions per second.
type rateLog struct {
	mu         sync.Mutex
	interval   time.Duration
	last       time.Time
	suppressed int
}

func (r *rateLog) log(emit func(suppressed int)) {
	r.mu.Lock()
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < r.interval {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	n := r.suppressed
	r.last, r.suppressed = now, 0
	r.mu.Unlock()
	emit(n)
}
