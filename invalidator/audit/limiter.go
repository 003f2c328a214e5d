package audit

import "time"

// limiter is a token bucket: perSec tokens a second, at most burst saved.
// One goroutine uses it; it needs no lock.
type limiter struct {
	perSec float64
	burst  float64
	tokens float64
	last   time.Time
}

func newLimiter(perSec int, now time.Time) *limiter {
	burst := max(1, float64(perSec)/10)
	return &limiter{perSec: float64(perSec), burst: burst, tokens: burst, last: now}
}

// take spends one token when there is one; otherwise it returns how long
// until there will be.
func (l *limiter) take(now time.Time) (bool, time.Duration) {
	l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.perSec)
	l.last = now
	if l.tokens >= 1 {
		l.tokens--
		return true, 0
	}
	return false, time.Duration((1 - l.tokens) / l.perSec * float64(time.Second))
}
