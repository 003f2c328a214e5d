package replication

import "testing"

func TestTrackerNeverConfirmsPastUnackedTransaction(t *testing.T) {
	var tr tracker
	tr.begin()
	tr.commit(100)
	tr.begin()
	tr.commit(200)
	tr.keepalive(300) // transactions in flight: must not be confirmed
	if _, flush, idle := tr.position(); flush != 0 || idle {
		t.Fatalf("flush=%v idle=%v, want 0 and busy", flush, idle)
	}
	tr.ack(100)
	if _, flush, _ := tr.position(); flush != 100 {
		t.Fatalf("flush=%v, want 100", flush)
	}
	tr.ack(200)
	if _, flush, idle := tr.position(); flush != 200 || !idle {
		t.Fatalf("flush=%v idle=%v, want 200 and idle", flush, idle)
	}
	tr.keepalive(300)
	if _, flush, _ := tr.position(); flush != 300 {
		t.Fatalf("idle keepalive not confirmed: flush=%v", flush)
	}
}

func TestTrackerKeepaliveInsideTransactionIgnored(t *testing.T) {
	var tr tracker
	tr.begin()
	tr.keepalive(500)
	if _, flush, idle := tr.position(); flush != 0 || idle {
		t.Fatalf("flush=%v idle=%v inside a transaction", flush, idle)
	}
	tr.commit(600)
	tr.keepalive(700)
	if _, flush, _ := tr.position(); flush != 0 {
		t.Fatalf("flush=%v before ack", flush)
	}
}

func TestTrackerAckBeyondHandedIsClamped(t *testing.T) {
	var tr tracker
	tr.begin()
	tr.commit(100)
	tr.ack(999)
	if _, flush, _ := tr.position(); flush != 100 {
		t.Fatalf("flush=%v, want clamp to 100", flush)
	}
	if tr.beyondHanded != 1 {
		t.Fatalf("beyondHanded=%d", tr.beyondHanded)
	}
}

func TestTrackerStaleAckAndReset(t *testing.T) {
	var tr tracker
	tr.begin()
	tr.commit(100)
	tr.begin()
	tr.commit(200)
	tr.ack(200)
	tr.ack(100) // a replayed transaction acked again: no step back
	if _, flush, _ := tr.position(); flush != 200 {
		t.Fatalf("flush=%v", flush)
	}
	tr.begin() // connection lost mid-transaction
	tr.keepalive(250)
	tr.reset()
	if _, _, idle := tr.position(); !idle {
		t.Fatal("reset must end the cut transaction")
	}
	tr.keepalive(300)
	if _, flush, _ := tr.position(); flush != 300 {
		t.Fatalf("flush=%v after reset and keepalive", flush)
	}
}

func TestTrackerWriteIsReceived(t *testing.T) {
	var tr tracker
	tr.receive(50)
	tr.receive(40)
	if w, f, _ := tr.position(); w != 50 || f != 0 {
		t.Fatalf("write=%v flush=%v", w, f)
	}
}
