package replication

import (
	"encoding/binary"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// readStatus reads one standby status frame from c and returns its write
// and flush positions.
func readStatus(t *testing.T, c net.Conn) (write, flush LSN) {
	t.Helper()
	frame := make([]byte, 5+34)
	if _, err := io.ReadFull(c, frame); err != nil {
		t.Fatal(err)
	}
	if frame[0] != 'd' || frame[5] != 'r' {
		t.Fatalf("frame %q", frame[:6])
	}
	return LSN(binary.BigEndian.Uint64(frame[6:])), LSN(binary.BigEndian.Uint64(frame[14:]))
}

// TestStatusWriterNeverConfirmsBeyondServerWAL is the invariant of a
// failover: acks of the old primary's history (positions beyond the new
// server's WAL) are never sent, and saying so is one error line.
func TestStatusWriterNeverConfirmsBeyondServerWAL(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	var tr tracker
	tr.begin()
	tr.commit(9000) // the old primary's transaction end
	tr.ack(9000)
	tr.connected(1000) // the new server's WAL ends at 1000
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	w := &statusWriter{sock: client, tr: &tr, confirmed: new(atomic.Uint64), m: mustMetrics(t), log: zap.New(core)}
	for range 2 {
		errc := make(chan error, 1)
		go func() { errc <- w.send(false) }()
		write, flush := readStatus(t, server)
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if flush != 1000 || write != 1000 {
			t.Fatalf("sent write=%v flush=%v beyond the server's WAL end 0/3E8", write, flush)
		}
	}
	if n := logs.FilterMessageSnippet("beyond the server's WAL").Len(); n != 1 {
		t.Fatalf("%d error lines for one state, want 1: %v", n, logs.All())
	}
	// The server's WAL grows past it (keepalive): the position is sent as is.
	tr.keepalive(9500)
	errc := make(chan error, 1)
	go func() { errc <- w.send(false) }()
	if _, flush := readStatus(t, server); flush != 9500 {
		t.Fatalf("flush=%v, want the idle keepalive 9500", flush)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if logs.FilterMessageSnippet("back within").Len() != 1 {
		t.Fatalf("release not logged once: %v", logs.All())
	}
}

func mustMetrics(t *testing.T) *streamMetrics {
	m, err := newStreamMetrics(nil, "s")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTrackerForgetAndWithdraw(t *testing.T) {
	var tr tracker
	tr.connected(100)
	tr.begin()
	prev := tr.commit(500)
	tr.withdraw(500, prev) // the handler refused the Commit: never acked
	if err := tr.drain(t.Context(), 1); err != nil {
		t.Fatalf("withdrawn commit still waited for: %v", err)
	}
	tr.begin()
	tr.commit(600)
	tr.ack(600)
	tr.forget()
	if w, f, idle := tr.position(); w != 0 || f != 0 || !idle {
		t.Fatalf("after forget: write=%v flush=%v idle=%v", w, f, idle)
	}
	if tr.serverEnd() != 100 {
		t.Fatalf("forget must keep the session's server WAL end: %v", tr.serverEnd())
	}
	tr.ack(600) // a late ack of the old history, beyond everything handed since
	if _, f, _ := tr.position(); f != 0 {
		t.Fatalf("late ack confirmed %v", f)
	}
}

func TestParseTimelineStart(t *testing.T) {
	got, err := parseTimelineStart([]byte("1\t0/3000148\tno recovery target specified\n\n2\t0/5000000\tno recovery target specified\n"))
	if err != nil || got != 0x5000000 {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := parseTimelineStart([]byte("junk\n")); err == nil {
		t.Fatal("junk accepted")
	}
}

func TestFlushMarkerFitsSlotNames(t *testing.T) {
	long := "s123456789012345678901234567890123456789012345678901234567890ab"
	if m := flushMarker(long); len(m) > 63 || m == long {
		t.Fatalf("marker %q", m)
	}
	if m := flushMarker("cachesync_west"); m != "cachesync_west_flushing" {
		t.Fatalf("marker %q", m)
	}
}

func TestTrackerPastHold(t *testing.T) {
	var tr tracker
	tr.holdAt(500)
	if tr.pastHold(500, false) || tr.pastHold(400, true) {
		t.Fatal("released before passing the held position")
	}
	tr.begin()
	if tr.pastHold(900, false) {
		t.Fatal("a keepalive inside a transaction released the hold")
	}
	tr.commit(950)
	if !tr.pastHold(500, true) {
		t.Fatal("the held transaction's own commit did not release")
	}
	if tr.pastHold(1000, false) {
		t.Fatal("released twice")
	}
}
