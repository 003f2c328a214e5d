package replication

import "sync"

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
}

func (t *tracker) receive(pos LSN) {
	t.mu.Lock()
	t.raiseReceived(pos)
	t.mu.Unlock()
}

// raiseReceived, settled and flush expect t.mu held.

func (t *tracker) raiseReceived(pos LSN) {
	if pos > t.received {
		t.received = pos
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
func (t *tracker) commit(end LSN) {
	t.mu.Lock()
	t.inTxn = false
	if end > t.handed {
		t.handed = end
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
	t.mu.Unlock()
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
