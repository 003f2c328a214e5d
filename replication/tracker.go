package replication

import (
	"context"
	"sync"
	"time"
)

// tracker decides which position may be confirmed to the server.
//
// Acks arrive in commit order, so "every transaction handed over has been
// acknowledged" is simply acked >= handed, and the flush position is the
// highest acked end: O(1) memory whatever the number of transactions in
// flight.
type tracker struct {
	mu       sync.Mutex
	received LSN // highest WAL position seen from the server
	handed   LSN // highest commit end handed to the handler (any session)
	acked    LSN // highest end acknowledged by the handler
	inTxn    bool
	// idle is a keepalive position seen while nothing was in flight. Every
	// transaction committed before it had already been handed over and
	// acknowledged (the server sends in WAL order), and any later one
	// commits at or after it, so it is safe to confirm.
	idle LSN
	// beyondHanded counts acks of positions never handed over: a handler bug.
	beyondHanded uint64
	// server is the end of the connected server's WAL as far as this
	// session knows (IDENTIFY_SYSTEM's position, then every position the
	// server sent); 0 between sessions. Nothing beyond it may be confirmed.
	server LSN
	// held is the position the stream is held at (0: not held).
	held LSN
}

// holdAt records that the stream is held at pos.
func (t *tracker) holdAt(pos LSN) {
	t.mu.Lock()
	t.held = pos
	t.mu.Unlock()
}

// pastHold reports, once, that the stream got past the held position: a
// transaction committed at or after it went through (inclusive), or the
// server's position outside any transaction is beyond it (a keepalive: the
// server has sent everything before it, so the held change was skipped).
func (t *tracker) pastHold(pos LSN, inclusive bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.held == 0 || t.inTxn || pos < t.held || (pos == t.held && !inclusive) {
		return false
	}
	t.held = 0
	return true
}

func (t *tracker) receive(pos LSN) {
	t.mu.Lock()
	t.raiseReceived(pos)
	t.mu.Unlock()
}

// connected starts a session on a server whose WAL ends at walEnd.
func (t *tracker) connected(walEnd LSN) {
	t.mu.Lock()
	t.server = walEnd
	t.mu.Unlock()
}

// raiseReceived, settled and flush expect t.mu held.

func (t *tracker) raiseReceived(pos LSN) {
	if pos > t.received {
		t.received = pos
	}
	if pos > t.server {
		t.server = pos
	}
}

// settled reports that nothing is in flight: no open transaction, and
// every one handed over acknowledged.
func (t *tracker) settled() bool { return !t.inTxn && t.acked >= t.handed }

// flush is the position safe to confirm.
func (t *tracker) flush() LSN { return max(t.acked, t.idle) }

func (t *tracker) begin() {
	t.mu.Lock()
	t.inTxn = true
	t.mu.Unlock()
}

// commit records a transaction's end as handed over; it must be called
// before the handler sees the Commit, since the handler may ack inside it.
// It returns the previous handed position, for withdraw.
func (t *tracker) commit(end LSN) (prev LSN) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inTxn = false
	prev = t.handed
	if end > t.handed {
		t.handed = end
	}
	return prev
}

// withdraw undoes commit(end) when the handler refused the Commit (it was
// not queued, so it will never be acked), unless a later one was handed.
func (t *tracker) withdraw(end, prev LSN) {
	t.mu.Lock()
	if t.handed == end && prev < end {
		t.handed = prev
	}
	t.mu.Unlock()
}

func (t *tracker) keepalive(walEnd LSN) {
	t.mu.Lock()
	t.raiseReceived(walEnd)
	if t.settled() && walEnd > t.idle {
		t.idle = walEnd
	}
	t.mu.Unlock()
}

// ack records end as acknowledged. An ack below the current one is a
// transaction replayed after a reconnect (or a handler ack out of order) and
// changes nothing; an ack beyond everything handed over is clamped, so no
// ack can confirm a transaction the handler has not seen. It returns the
// acknowledged position after the call.
func (t *tracker) ack(end LSN) LSN {
	t.mu.Lock()
	defer t.mu.Unlock()
	if end > t.handed {
		t.beyondHanded++
		end = t.handed
	}
	if end > t.acked {
		t.acked = end
	}
	return t.acked
}

// reset forgets the state of a connection that is gone: a transaction cut in
// the middle will be replayed from its Begin, and a keepalive position from
// the old connection says nothing about the new one.
func (t *tracker) reset() {
	t.mu.Lock()
	t.inTxn = false
	t.idle = 0
	t.server = 0
	t.mu.Unlock()
}

// forget drops every position: they belong to a server history the stream
// has left (a failover), and compare with nothing on the new one. Acks still
// on their way would carry the old history's positions: drain them first.
func (t *tracker) forget() {
	t.mu.Lock()
	t.received, t.handed, t.acked, t.idle, t.held, t.inTxn = 0, 0, 0, 0, 0, false
	t.mu.Unlock()
}

// drain waits until every transaction handed over has been acked, polling
// every interval, or until ctx ends.
func (t *tracker) drain(ctx context.Context, interval time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		t.mu.Lock()
		done := t.acked >= t.handed
		t.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// resume raises the positions to the slot's confirmed position at the start
// of a session: the server sends nothing before it, and transactions before
// it still in the handler were covered by whoever moved the slot there.
func (t *tracker) resume(confirmed LSN) {
	t.mu.Lock()
	t.acked = max(t.acked, confirmed)
	t.handed = max(t.handed, confirmed)
	t.mu.Unlock()
}

// serverEnd is the connected server's WAL end as this session knows it.
func (t *tracker) serverEnd() LSN {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.server
}

// position returns what to report: write (received), flush (safe to
// confirm), and whether nothing is in flight.
func (t *tracker) position() (write, flush LSN, idle bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	flush = t.flush()
	return max(t.received, flush), flush, t.settled()
}

func (t *tracker) snapshot() (received, acked LSN) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.received, t.acked
}
