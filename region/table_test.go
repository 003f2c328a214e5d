package region

import (
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestTableKeepsNewestStatusPerOrigin(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	tab := newTable(c.now)
	tab.alive("a", "127.0.0.1:1", encodeMeta(nodeMeta{Region: "east", Role: "sidecar"}))
	if !tab.mergeStatus(envelope{Node: "a", Seq: 2, Status: NodeStatus{QueueDepth: 2}}) {
		t.Fatal("first status not merged")
	}
	if tab.mergeStatus(envelope{Node: "a", Seq: 1, Status: NodeStatus{QueueDepth: 1}}) {
		t.Fatal("older status merged")
	}
	if tab.mergeStatus(envelope{Node: "a", Seq: 2, Status: NodeStatus{QueueDepth: 3}}) {
		t.Fatal("same seq merged twice")
	}
	f := tab.snapshot(time.Minute)
	if len(f) != 1 || f[0].Status == nil || f[0].Status.QueueDepth != 2 {
		t.Fatalf("fleet = %+v", f)
	}
	if f[0].Region != "east" || f[0].Role != "sidecar" || f[0].State != StateAlive {
		t.Fatalf("member = %+v", f[0])
	}
}

func TestTableDeadLeftSuspectAndForget(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	tab := newTable(c.now)
	for _, n := range []string{"a", "b", "c", "d"} {
		tab.alive(n, "x", encodeMeta(nodeMeta{Region: "r"}))
	}
	tab.gone("b", "x", nil)
	tab.leaving("c")
	tab.gone("c", "x", nil)
	c.t = c.t.Add(30 * time.Second)
	tab.mergeStatus(envelope{Node: "a", Seq: 1})
	states := map[string]string{}
	for _, m := range tab.snapshot(10 * time.Second) {
		states[m.Name] = m.State
	}
	want := map[string]string{"a": StateAlive, "b": StateDead, "c": StateLeft, "d": StateSuspect}
	for k, v := range want {
		if states[k] != v {
			t.Errorf("%s: state %q, want %q", k, states[k], v)
		}
	}
	tab.forget(c.t.Add(-time.Second))
	if got := len(tab.snapshot(time.Minute)); got != 2 {
		t.Fatalf("after forget: %d members, want 2 (a, d)", got)
	}
}

func TestTableSnapshotFallsBackToStatusIdentity(t *testing.T) {
	tab := newTable(time.Now)
	tab.alive("x", "addr", []byte("not json"))
	tab.mergeStatus(envelope{Node: "x", Seq: 1, Status: NodeStatus{Region: "west", Role: "proxy"}})
	f := tab.snapshot(time.Minute)
	if f[0].Region != "west" || f[0].Role != "proxy" {
		t.Fatalf("member = %+v", f[0])
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	in := envelope{Node: "n1", Seq: 42, Status: NodeStatus{Region: "east", QueueDepth: 7, Problems: []string{"x"}}}
	b, err := encodeEnvelope(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	if out.Node != in.Node || out.Seq != in.Seq || out.Status.QueueDepth != 7 || out.Status.Problems[0] != "x" {
		t.Fatalf("round trip: %+v", out)
	}
	for _, bad := range [][]byte{nil, []byte("x{}"), []byte("s{"), []byte(`s{"q":1}`)} {
		if _, err := decodeEnvelope(bad); err == nil {
			t.Errorf("decode %q: no error", bad)
		}
	}
}

func TestTableLeaveIntentAfterDeparture(t *testing.T) {
	tab := newTable(time.Now)
	tab.alive("a", "x", nil)
	tab.gone("a", "x", nil)
	tab.leaving("a")
	tab.leaving("unknown")
	if f := tab.snapshot(time.Minute); len(f) != 1 || f[0].State != StateLeft {
		t.Fatalf("fleet = %+v", f)
	}
	tab.alive("a", "x", nil) // rejoined: a later death is a death again
	tab.gone("a", "x", nil)
	if f := tab.snapshot(time.Minute); f[0].State != StateDead {
		t.Fatalf("after rejoin and death: %s", f[0].State)
	}
}
