package node

import (
	"testing"
	"time"

	"github.com/cachesync/cachesync/lease/route"
	"github.com/cachesync/cachesync/region"
)

func TestSidecarReports(t *testing.T) {
	t0 := time.Unix(1000, 0)
	member := func(name, reg, role, state string, seen time.Time, servers ...region.ServerStatus) region.Member {
		return region.Member{Name: name, Region: reg, Role: role, State: state, LastSeen: seen,
			Status: &region.NodeStatus{Memcached: servers}}
	}
	a, b, c := "10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"
	fleet := []region.Member{
		member("w1", "west", "sidecar", region.StateAlive, t0.Add(2*time.Second),
			region.ServerStatus{Addr: a, Up: true, State: "up"},
			region.ServerStatus{Addr: b, Up: true, State: "catching_up"},
			region.ServerStatus{Addr: c, Up: true}),
		// A second sidecar (a standby): the worse report wins, and of two
		// "up"s the older.
		member("w2", "west", "sidecar", region.StateAlive, t0.Add(time.Second),
			region.ServerStatus{Addr: a, Up: true, State: "up"},
			region.ServerStatus{Addr: b, Up: true, State: "up"},
			region.ServerStatus{Addr: c, Up: false}),
		// Not counted: another region, a proxy, a dead sidecar.
		member("e1", "east", "sidecar", region.StateAlive, t0, region.ServerStatus{Addr: a, State: "owes_flush"}),
		member("wp", "west", "proxy", region.StateAlive, t0, region.ServerStatus{Addr: a, Up: false}),
		member("w3", "west", "sidecar", region.StateDead, t0, region.ServerStatus{Addr: a, State: "down"}),
		{Name: "w4", Region: "west", Role: "sidecar", State: region.StateAlive}, // no status yet
	}
	got := sidecarReports(fleet, "west")
	want := map[string]route.Report{
		a: {State: route.StateUp, Received: t0.Add(time.Second)},
		b: {State: route.StateCatchingUp, Received: t0.Add(2 * time.Second)},
		c: {State: route.StateDown, Received: t0.Add(time.Second)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for addr, w := range want {
		if g := got[addr]; g.State != w.State || !g.Received.Equal(w.Received) {
			t.Errorf("%s: got %v at %v, want %v at %v", addr, g.State, g.Received, w.State, w.Received)
		}
	}
	if r := sidecarReports(fleet, "north"); len(r) != 0 {
		t.Fatalf("a region without sidecars has reports: %v", r)
	}
}

func TestReportedState(t *testing.T) {
	for _, c := range []struct {
		in   region.ServerStatus
		want route.State
	}{
		{region.ServerStatus{Up: true}, route.StateUp},
		{region.ServerStatus{Up: false}, route.StateDown},
		{region.ServerStatus{Up: true, State: "owes_flush"}, route.StateOwesFlush},
		{region.ServerStatus{Up: true, State: "resting"}, route.StateDown}, // unknown: not up
	} {
		if got := reportedState(c.in); got != c.want {
			t.Errorf("reportedState(%+v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestServable(t *testing.T) {
	up := func(a string) region.ServerStatus { return region.ServerStatus{Addr: a, Up: true} }
	down := func(a string) region.ServerStatus { return region.ServerStatus{Addr: a} }
	for _, c := range []struct {
		servers []region.ServerStatus
		pool    int
		ok      bool
	}{
		{[]region.ServerStatus{up("a"), up("b")}, 2, true},
		{[]region.ServerStatus{up("a"), down("b")}, 2, false},            // no gutter
		{[]region.ServerStatus{up("a"), down("b"), up("g")}, 2, true},    // the gutter serves b's keys
		{[]region.ServerStatus{up("a"), down("b"), down("g")}, 2, false}, // nothing serves them
		{[]region.ServerStatus{up("a"), up("b"), down("g")}, 2, true},    // the gutter is not needed
	} {
		if err := servable(c.servers, c.pool); (err == nil) != c.ok {
			t.Errorf("servable(%v, %d) = %v", c.servers, c.pool, err)
		}
	}
}
