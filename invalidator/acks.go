package invalidator

import (
	"context"
	"sync"
	"time"
)

// tracker keeps the sealed batches in commit order from sealing until
// acknowledgement. Deliveries complete in any order (servers are
// independent, and several batches are in flight per server); a batch is
// acknowledged only once it and every batch before it are complete, which
// is what keeps the confirmed LSN behind every undelivered key.
//
// It also bounds what the pipeline holds: at most MaxBatches batches, at
// most MaxQueued keys in batches not yet past their gate, and no new batch
// while a server not known down holds ServerBacklog keys. open blocks beyond any of
// them, which is back-pressure on the collector and so on replication.
type tracker struct {
	inv *Invalidator

	mu      sync.Mutex
	window  []*batch // window[i].seq == base+i
	base    uint64
	held    int // keys of opened batches not yet released
	free    []*batch
	space   chan struct{} // signalled when the window or held shrinks
	onAcked func(b *batch, now time.Time)
}

// maxFreeBatches bounds the recycled batches kept: enough for a steady
// pipeline, not the whole window of a long outage.
const maxFreeBatches = 64

func newTracker(inv *Invalidator) *tracker {
	return &tracker{inv: inv, base: 1, space: make(chan struct{}, 1)}
}

// get returns an empty batch, recycled when one is free.
func (t *tracker) get() *batch {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.free); n > 0 {
		b := t.free[n-1]
		t.free = t.free[:n-1]
		return b
	}
	return newBatch()
}

// open gives b its place in commit order, waiting while the pipeline is
// full. b then holds one delivery (its release) until release is called.
func (t *tracker) open(ctx context.Context, b *batch) error {
	cfg := &t.inv.cfg
	for {
		t.mu.Lock()
		if len(t.window) < cfg.MaxBatches && (t.held == 0 || t.held+len(b.keys) <= cfg.MaxQueued) && !t.inv.serversFull() {
			b.seq = t.base + uint64(len(t.window))
			b.remaining = 1
			b.held = len(b.keys)
			t.held += b.held
			t.window = append(t.window, b)
			t.mu.Unlock()
			return nil
		}
		t.mu.Unlock()
		select {
		case <-t.space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// expect records that b will complete n deliveries (one per server with
// work from it); called before any of them is handed out.
func (t *tracker) expect(b *batch, n int) {
	t.mu.Lock()
	b.remaining += n
	t.mu.Unlock()
}

// released records that b passed its gate and its work is handed out: the
// delivery that stood for its release is done.
func (t *tracker) released(b *batch) {
	seq := b.seq
	t.mu.Lock()
	t.held -= b.held
	b.held = 0
	t.mu.Unlock()
	t.signal()
	t.done(seq)
}

// done records one completed delivery of batch seq and acknowledges every
// batch that is now complete with all batches before it. Acks and
// heartbeats are reported under the lock, so they come in order.
func (t *tracker) done(seq uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.window[seq-t.base].remaining--
	n := 0
	for n < len(t.window) && t.window[n].remaining == 0 {
		n++
	}
	if n == 0 {
		return
	}
	now := time.Now()
	for _, b := range t.window[:n] {
		t.onAcked(b, now)
		if len(t.free) < maxFreeBatches {
			b.reset()
			t.free = append(t.free, b)
		}
	}
	t.window = append(t.window[:0], t.window[n:]...)
	t.base += uint64(n)
	t.signal()
}

func (t *tracker) signal() {
	select {
	case t.space <- struct{}{}:
	default:
	}
}

// heldKeys is the keys of batches waiting for their gate.
func (t *tracker) heldKeys() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.held
}

// serversFull reports whether a server not known down holds ServerBacklog
// keys.
func (inv *Invalidator) serversFull() bool {
	for _, s := range inv.servers {
		if s.full() {
			return true
		}
	}
	return false
}
