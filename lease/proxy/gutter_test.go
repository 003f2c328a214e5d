package proxy

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/lease/route"
	"github.com/cachesync/cachesync/test/cluster"
)

func TestGutterExptime(t *testing.T) {
	const now, ttl = 1_800_000_000, 10
	for _, c := range []struct{ in, want int64 }{
		{0, ttl},                  // forever
		{5, 5},                    // sooner than the gutter's bound
		{ttl, ttl},                // exactly the bound
		{3600, ttl},               // relative, later
		{maxRelativeExptime, ttl}, // the largest relative
		{now + 5, now + 5},        // absolute, sooner
		{now + 3600, ttl},         // absolute, later
		{now - 5, now - 5},        // absolute, past: expired already
		{-1, -1},                  // expired already
	} {
		if got := gutterExptime(c.in, ttl, now); got != c.want {
			t.Errorf("gutterExptime(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}

// gutterWorld is three pool servers and one gutter server behind a proxy
// whose backends time out quickly, with keys sorted by owner.
type gutterWorld struct {
	pool   []*cluster.Memcached
	gutter *cluster.Memcached
	proxy  *Server
	c      *rawConn
	// keys[i] are keys owned by pool server i.
	keys [3][]string
}

func startGutterWorld(t *testing.T) *gutterWorld {
	t.Helper()
	mcs, addrs := startMemcached(t, 4)
	w := &gutterWorld{pool: mcs[:3], gutter: mcs[3]}
	w.proxy = startProxy(t, func(c *Config) {
		c.Gutter = addrs[3:]
		c.Timeout = 200 * time.Millisecond
	}, addrs[:3]...)
	w.c = dial(t, w.proxy.Addr())
	r, err := route.New(route.Config{Servers: addrs[:3]})
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; len(w.keys[0]) < 20 || len(w.keys[1]) < 20 || len(w.keys[2]) < 20; k++ {
		key := fmt.Sprintf("g:%d", k)
		o := r.Owner(key)
		w.keys[o] = append(w.keys[o], key)
	}
	return w
}

// ttl reads key's remaining TTL straight from mc (-1: never expires,
// -2: absent).
func ttl(t *testing.T, mc *cluster.Memcached, key string) int {
	t.Helper()
	c := dial(t, mc.Addr())
	c.send("mg " + key + " t\r\n")
	l, err := c.readLine()
	switch {
	case err != nil:
		t.Fatalf("mg %s t: %v", key, err)
	case l == "EN":
		return -2
	case strings.HasPrefix(l, "HD t"):
		n, err := strconv.Atoi(strings.TrimPrefix(l, "HD t"))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Fatalf("mg %s t: %q", key, l)
	return 0
}

// waitInGutter polls until key, owned by a server out of rotation, is
// served from the gutter (a set through the proxy lands there).
func (w *gutterWorld) waitInGutter(t *testing.T, key string) {
	t.Helper()
	cluster.Eventually(t, 10*time.Second, func() error {
		w.c.send("set " + key + " 0 0 1\r\nx\r\n")
		if l, _ := w.c.readLine(); l != "STORED" {
			return fmt.Errorf("set %s: %q", key, l)
		}
		if ttl(t, w.gutter, key) < 0 {
			return fmt.Errorf("%s not in the gutter", key)
		}
		return nil
	})
}

// TestStoppedServersKeysGoToTheGutter SIGSTOPs one pool server: its keys
// are served from the gutter, every write there lives at most GutterTTL
// (classic, lease and meta alike), the live servers' keys stay where they
// are, and once the server answers again (no sidecar reports it) its keys
// are served from it again, with the values it held.
func TestStoppedServersKeysGoToTheGutter(t *testing.T) {
	w := startGutterWorld(t)
	down, live := w.keys[1], w.keys[2]
	w.c.send("set " + down[0] + " 0 0 6\r\nbefore\r\n")
	w.c.expect("STORED")
	w.pool[1].Pause(t)
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			w.pool[1].Resume(t)
		}
	})
	w.waitInGutter(t, down[1])
	if got := ttl(t, w.gutter, down[1]); got > 10 {
		t.Fatalf("set with exptime 0 lives %ds in the gutter", got)
	}
	// The gutter never had down[0]: a miss, not SERVER_ERROR.
	w.c.send("get " + down[0] + "\r\n")
	w.c.expect("END")

	w.c.send("set " + down[2] + " 0 3600 1\r\ny\r\n")
	w.c.expect("STORED")
	w.c.send("touch " + down[1] + " 86400\r\n")
	w.c.expect("TOUCHED")
	w.c.send("ms " + down[3] + " 1\r\nz\r\n")
	w.c.expect("HD")
	w.c.send("ms " + down[4] + " 1 T3600\r\nz\r\n")
	w.c.expect("HD")
	w.c.send("gat 7200 " + down[2] + "\r\n")
	w.c.expect("VALUE "+down[2]+" 0 1", "y", "END")
	kind, token, _, err := w.c.leaseGet(down[5])
	if err != nil || kind != "LVALUE" || token <= HotMissToken {
		t.Fatalf("lease-get in the gutter: %s %d %v", kind, token, err)
	}
	w.c.send(fmt.Sprintf("lease-set %s %d 0 0 4\r\nfill\r\n", down[5], token))
	w.c.expect("STORED")
	w.c.send("get " + down[5] + "\r\n")
	w.c.expect("VALUE "+down[5]+" 0 4", "fill", "END")
	for _, k := range []string{down[1], down[2], down[3], down[4], down[5]} {
		if got := ttl(t, w.gutter, k); got < 0 || got > 10 {
			t.Errorf("%s lives %ds in the gutter, want at most 10", k, got)
		}
	}
	// Keys of the live servers are untouched by the outage.
	w.c.send("set " + live[0] + " 0 0 4\r\nlive\r\n")
	w.c.expect("STORED")
	if ttl(t, w.pool[2], live[0]) != -1 || ttl(t, w.gutter, live[0]) != -2 {
		t.Fatalf("%s not on its own server", live[0])
	}
	if w.proxy.Stats().GutterKeys == 0 || w.proxy.InRotation()[1] {
		t.Fatalf("stats: %+v, in rotation %v", w.proxy.Stats(), w.proxy.InRotation())
	}

	// A lease the gutter granted is filled there even once the owner is
	// back: the token names the server that issued it.
	kind, token, _, err = w.c.leaseGet(down[6])
	if err != nil || kind != "LVALUE" || token <= HotMissToken {
		t.Fatalf("lease-get in the gutter: %s %d %v", kind, token, err)
	}

	w.pool[1].Resume(t)
	resumed = true
	cluster.Eventually(t, 10*time.Second, func() error {
		w.c.send("get " + down[0] + "\r\n")
		if l, _ := w.c.readLine(); l != "VALUE "+down[0]+" 0 6" {
			return fmt.Errorf("get %s: %q", down[0], l)
		}
		w.c.expect("before", "END")
		return nil
	})
	w.c.send(fmt.Sprintf("lease-set %s %d 0 0 4\r\nlate\r\n", down[6], token))
	w.c.expect("STORED")
	if g, o := ttl(t, w.gutter, down[6]), ttl(t, w.pool[1], down[6]); g < 0 || g > 10 || o != -2 {
		t.Fatalf("late lease-set: %ds in the gutter, %d on the owner", g, o)
	}
}

// TestReturnedServerWaitsForTheSidecar kills a pool server while the
// sidecar reports on it: it comes back (restarted, empty of
// invalidations it missed), but its keys stay in the gutter until a
// report received after its return says it is up to date.
func TestReturnedServerWaitsForTheSidecar(t *testing.T) {
	w := startGutterWorld(t)
	addr := w.pool[0].Addr()
	k := w.keys[0][0]
	upAt := func(at time.Time) map[string]route.Report {
		return map[string]route.Report{addr: {State: route.StateUp, Received: at}}
	}
	w.proxy.SetReports(upAt(time.Now()))
	w.c.send("set " + k + " 0 0 3\r\nold\r\n")
	w.c.expect("STORED")
	if ttl(t, w.pool[0], k) != -1 {
		t.Fatal("not on its owner while reported up")
	}

	// Reachable from here, but the sidecar says it is owed invalidations.
	w.proxy.SetReports(map[string]route.Report{addr: {State: route.StateCatchingUp, Received: time.Now()}})
	w.waitInGutter(t, k)

	w.pool[0].Kill(t)
	beforeReturn := time.Now()
	w.proxy.SetReports(upAt(beforeReturn)) // it was up; it has not returned yet
	// The pool learns of the death from the next request it sends there.
	cluster.Eventually(t, 5*time.Second, func() error {
		w.c.send("get " + k + "\r\n")
		if l, _ := w.c.readLine(); l != replyBackendDown {
			return fmt.Errorf("get %s from a killed server: %q", k, l)
		}
		if w.proxy.InRotation()[0] {
			return fmt.Errorf("a killed server is in rotation")
		}
		return nil
	})
	w.pool[0].Restart(t)
	cluster.Eventually(t, 5*time.Second, func() error {
		if !w.proxy.ServersUp()[0].Up {
			return fmt.Errorf("proxy has not reconnected")
		}
		return nil
	})
	w.proxy.SetReports(upAt(beforeReturn)) // a report from before the return
	w.waitInGutter(t, k)
	if w.proxy.InRotation()[0] {
		t.Fatal("back in rotation on a report from before its return")
	}

	w.proxy.SetReports(upAt(time.Now()))
	w.c.send("set " + k + " 0 0 3\r\nnew\r\n")
	w.c.expect("STORED")
	if ttl(t, w.pool[0], k) != -1 {
		t.Fatal("not served from its owner after the sidecar said up")
	}
	// Without any sidecar report, the proxy's own view decides.
	w.proxy.SetReports(map[string]route.Report{addr: {State: route.StateOwesFlush, Received: time.Now()}})
	if w.proxy.InRotation()[0] {
		t.Fatal("in rotation while owed a flush")
	}
	w.proxy.SetReports(nil)
	if !w.proxy.InRotation()[0] {
		t.Fatal("out of rotation without reports while reachable")
	}
}
