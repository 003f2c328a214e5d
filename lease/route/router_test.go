package route

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cachesync/cachesync/lease/ring"
)

var (
	pool   = []string{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"}
	gutter = []string{"10.0.1.1:11211", "10.0.1.2:11211"}
)

// clock is a fake Now that moves only when told.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }
func (c *clock) tick() time.Time {
	c.t = c.t.Add(time.Second)
	return c.t
}

func newRouter(t *testing.T, g []string) (*Router, *clock) {
	t.Helper()
	c := &clock{t: time.Unix(1000, 0)}
	r, err := New(Config{Servers: pool, Gutter: g, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return r, c
}

// keysOf returns n keys owned by pool server i.
func keysOf(r *Router, i, n int) []string {
	var out []string
	for k := 0; len(out) < n; k++ {
		key := fmt.Sprintf("user:%d", k)
		if r.Owner(key) == i {
			out = append(out, key)
		}
	}
	return out
}

func mustRoute(t *testing.T, r *Router, key string, server int, gutter bool) {
	t.Helper()
	if s, g := r.Route(key); s != server || g != gutter {
		t.Fatalf("Route(%q) = %d, %v; want %d, %v", key, s, g, server, gutter)
	}
}

func TestOwnerIsTheRing(t *testing.T) {
	for _, kind := range []string{ring.KindKetama, ring.KindCRC32} {
		rg, _ := ring.New(kind, pool)
		gr, _ := ring.New(kind, gutter)
		r, err := New(Config{Hash: kind, Servers: pool, Gutter: gutter})
		if err != nil {
			t.Fatal(err)
		}
		for k := range 5000 {
			key := fmt.Sprintf("k:%d", k)
			if r.Owner(key) != rg.Pick(key) {
				t.Fatalf("%s: Owner(%q) = %d, ring %d", kind, key, r.Owner(key), rg.Pick(key))
			}
			if g, ok := r.Gutter(key); !ok || g != len(pool)+gr.Pick(key) {
				t.Fatalf("%s: Gutter(%q) = %d %v, ring %d", kind, key, g, ok, gr.Pick(key))
			}
			mustRoute(t, r, key, rg.Pick(key), false)
		}
	}
}

func TestDownServerGoesToGutter(t *testing.T) {
	r, _ := newRouter(t, gutter)
	if err := r.SetReachable(pool[1], false); err != nil {
		t.Fatal(err)
	}
	used := map[int]bool{}
	for _, k := range keysOf(r, 1, 200) {
		g, _ := r.Gutter(k)
		mustRoute(t, r, k, g, true)
		used[g] = true
	}
	if !used[3] || !used[4] {
		t.Fatalf("a down server's keys are not spread over the gutter: %v", used)
	}
	for _, i := range []int{0, 2} {
		for _, k := range keysOf(r, i, 50) {
			mustRoute(t, r, k, i, false)
		}
	}
	if r.Ready(1) || !r.Ready(0) || !r.Ready(2) {
		t.Fatal("Ready disagrees with Route")
	}
}

func TestNoGutterKeepsOwner(t *testing.T) {
	r, _ := newRouter(t, nil)
	_ = r.SetReachable(pool[0], false)
	for _, k := range keysOf(r, 0, 20) {
		mustRoute(t, r, k, 0, false)
	}
	if _, ok := r.Gutter("x"); ok {
		t.Fatal("Gutter ok without a gutter")
	}
}

func TestWithoutReportsOwnViewDecides(t *testing.T) {
	r, _ := newRouter(t, gutter)
	k := keysOf(r, 2, 1)[0]
	_ = r.SetReachable(pool[2], false)
	_ = r.SetReachable(pool[2], true)
	mustRoute(t, r, k, 2, false)
}

func TestReportsKeepANotUpToDateServerOut(t *testing.T) {
	for _, st := range []State{StateDown, StateCatchingUp, StateOwesFlush} {
		r, c := newRouter(t, gutter)
		k := keysOf(r, 0, 1)[0]
		g, _ := r.Gutter(k)
		_ = r.SetReport(pool[0], Report{State: st, Received: c.tick()})
		mustRoute(t, r, k, g, true) // reachable from here, but not up to date
		_ = r.SetReport(pool[0], Report{State: StateUp, Received: c.tick()})
		mustRoute(t, r, k, 0, false)
	}
}

func TestReturnedServerWaitsForAFreshReport(t *testing.T) {
	r, c := newRouter(t, gutter)
	k := keysOf(r, 1, 1)[0]
	g, _ := r.Gutter(k)
	_ = r.SetReport(pool[1], Report{State: StateUp, Received: c.tick()})
	_ = r.SetReachable(pool[1], false)
	mustRoute(t, r, k, g, true)
	old := Report{State: StateUp, Received: c.t}
	c.tick()
	_ = r.SetReachable(pool[1], true) // back, as this process sees it
	mustRoute(t, r, k, g, true)
	// A report received before the return vouches for nothing.
	_ = r.SetReport(pool[1], old)
	mustRoute(t, r, k, g, true)
	_ = r.SetReport(pool[1], Report{State: StateCatchingUp, Received: c.tick()})
	mustRoute(t, r, k, g, true)
	_ = r.SetReport(pool[1], Report{State: StateUp, Received: c.tick()})
	mustRoute(t, r, k, 1, false)
	// The sidecar goes away: this process's own view decides again.
	_ = r.SetReport(pool[1], Report{State: StateDown, Received: c.tick()})
	mustRoute(t, r, k, g, true)
	_ = r.ClearReport(pool[1])
	mustRoute(t, r, k, 1, false)
}

func TestSettersRejectUnknownAndGutterServers(t *testing.T) {
	r, _ := newRouter(t, gutter)
	for _, a := range []string{"10.9.9.9:1", gutter[0]} {
		if err := r.SetReachable(a, false); !errors.Is(err, ErrUnknownServer) {
			t.Fatalf("SetReachable(%s) = %v", a, err)
		}
		if err := r.SetReport(a, Report{}); !errors.Is(err, ErrUnknownServer) {
			t.Fatalf("SetReport(%s) = %v", a, err)
		}
	}
}

func TestNewErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no servers":     {},
		"bad hash":       {Hash: "modula", Servers: pool},
		"gutter in pool": {Servers: pool, Gutter: []string{pool[2]}},
		"duplicate":      {Servers: []string{pool[0], pool[0]}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestAddrsAndIndexes(t *testing.T) {
	r, _ := newRouter(t, gutter)
	a := r.Addrs()
	if len(a) != 5 || a[0] != pool[0] || a[3] != gutter[0] || r.NumPool() != 3 {
		t.Fatalf("Addrs = %v, NumPool = %d", a, r.NumPool())
	}
	if r.IsGutter(2) || !r.IsGutter(3) || r.Ready(3) {
		t.Fatal("gutter indexes misjudged")
	}
	a[0] = "changed"
	if r.Addrs()[0] != pool[0] {
		t.Fatal("Addrs exposes the router's slice")
	}
}

func TestStateNames(t *testing.T) {
	for _, st := range []State{StateUp, StateDown, StateCatchingUp, StateOwesFlush} {
		got, err := ParseState(st.String())
		if err != nil || got != st {
			t.Fatalf("ParseState(%q) = %v, %v", st.String(), got, err)
		}
	}
	if _, err := ParseState("sleepy"); err == nil {
		t.Fatal("ParseState accepted an unknown name")
	}
}

func TestRouteDoesNotAllocate(t *testing.T) {
	r, _ := newRouter(t, gutter)
	_ = r.SetReachable(pool[0], false)
	if n := testing.AllocsPerRun(100, func() {
		for k := range 10 {
			r.Route(keys10[k])
		}
	}); n != 0 {
		t.Fatalf("Route allocates %v times", n)
	}
}

var keys10 = func() (k [10]string) {
	for i := range k {
		k[i] = fmt.Sprintf("user:%d", i)
	}
	return k
}()

func TestConcurrentRouteAndSetters(t *testing.T) {
	r, c := newRouter(t, gutter)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, k := range keys10 {
				if s, g := r.Route(k); g != r.IsGutter(s) {
					t.Error("Route's gutter flag disagrees with its index")
					return
				}
			}
		}
	}()
	for i := range 1000 {
		_ = r.SetReachable(pool[i%3], i%2 == 0)
		_ = r.SetReport(pool[i%3], Report{State: State(i % 4), Received: c.now()})
	}
	close(stop)
	<-done
}

func BenchmarkRoute(b *testing.B) {
	r, err := New(Config{Servers: pool, Gutter: gutter})
	if err != nil {
		b.Fatal(err)
	}
	_ = r.SetReachable(pool[0], false)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.Route(keys10[i%10])
	}
}
