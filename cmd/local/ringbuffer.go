package local

import "sync"

// RingBuffer is an io.Writer that keeps only the last capacity bytes
// written, so a chatty process cannot exhaust memory during a long test.
type RingBuffer struct {
	mu    sync.Mutex
	buf   []byte // allocated lazily at full capacity
	cap   int
	next  int  // where the next byte goes
	full  bool // buf has wrapped at least once
	total int64
}

// NewRingBuffer keeps the last capacity bytes (capacity > 0).
func NewRingBuffer(capacity int) *RingBuffer {
	return &RingBuffer{cap: capacity}
}

// Write never fails.
func (r *RingBuffer) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	r.total += int64(n)
	if r.buf == nil {
		r.buf = make([]byte, r.cap)
	}
	if len(p) >= r.cap {
		copy(r.buf, p[len(p)-r.cap:])
		r.next, r.full = 0, true
		return n, nil
	}
	c := copy(r.buf[r.next:], p)
	if c < len(p) {
		r.next = copy(r.buf, p[c:])
		r.full = true
	} else {
		r.next += c
		if r.next == r.cap {
			r.next, r.full = 0, true
		}
	}
	return n, nil
}

// String returns the kept bytes, prefixed with a note if some were dropped.
func (r *RingBuffer) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return string(r.buf[:r.next])
	}
	out := make([]byte, 0, r.cap+40)
	if r.total > int64(r.cap) {
		out = append(out, "[... earlier output dropped ...]\n"...)
	}
	out = append(out, r.buf[r.next:]...)
	return string(append(out, r.buf[:r.next]...))
}
