package proxy

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
)

// invalidate marks key stale directly on memcached, as the invalidator does.
func invalidate(t *testing.T, mcAddr, key string) {
	t.Helper()
	mc := dial(t, mcAddr)
	mc.send("md " + key + " I T30\r\n")
	mc.expect("HD")
}

func TestHerdAfterInvalidationOneFill(t *testing.T) {
	_, addrs := startMemcached(t, 1)
	s := startProxy(t, nil, addrs...)
	c := dial(t, s.Addr())
	c.send("set hot 0 0 2\r\nv1\r\n")
	c.expect("STORED")
	invalidate(t, addrs[0], "hot")

	const readers = 1000
	conns := make([]*rawConn, readers)
	for i := range conns {
		conns[i] = dial(t, s.Addr())
	}
	type result struct {
		kind  string
		token uint64
		data  string
		err   error
	}
	results := make([]result, readers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var r result
			r.kind, r.token, r.data, r.err = conns[i].leaseGet("hot")
			results[i] = r
		}()
	}
	close(start)
	wg.Wait()
	var winners []uint64
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("reader %d: %v", i, r.err)
		}
		if r.kind != "LVALUE" || r.data != "v1" {
			t.Fatalf("reader %d: %+v, want LVALUE with the stale value", i, r)
		}
		if r.token != HotMissToken {
			winners = append(winners, r.token)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d readers got a lease, want exactly 1", len(winners))
	}
	c.send(fmt.Sprintf("lease-set hot %d 0 0 2\r\nv2\r\n", winners[0]))
	c.expect("STORED")
	if kind, _, data, err := c.leaseGet("hot"); err != nil || kind != "VALUE" || data != "v2" {
		t.Fatalf("after fill: %s %q %v", kind, data, err)
	}
	if st := s.Stats(); st.LeasesGranted != 1 || st.StaleServed != readers-1 || st.HotMisses != readers-1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestColdKeyOneFillOthersWait(t *testing.T) {
	_, addrs := startMemcached(t, 2)
	s := startProxy(t, func(c *Config) { c.HotMissWait = 200 * time.Millisecond }, addrs...)
	const readers = 200
	var fills, tokens sync.Map
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	start := make(chan struct{})
	for i := range readers {
		c := dial(t, s.Addr())
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				kind, token, data, err := c.leaseGet("cold")
				if err != nil {
					errs <- err
					return
				}
				if kind == "VALUE" {
					if data != "filled" {
						errs <- fmt.Errorf("reader %d: %q", i, data)
					}
					return
				}
				if token == HotMissToken {
					continue // the filler was slower than HotMissWait: ask again
				}
				tokens.Store(token, true)
				fills.Store(i, true)
				c.send(fmt.Sprintf("lease-set cold %d 0 0 6\r\nfilled\r\n", token))
				if l, err := c.readLine(); err != nil || l != "STORED" {
					errs <- fmt.Errorf("lease-set: %q %v", l, err)
				}
				return
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n := 0
	fills.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Fatalf("%d fills, want 1", n)
	}
}

func TestLeaseSetRejectedAfterInvalidation(t *testing.T) {
	_, addrs := startMemcached(t, 1)
	s := startProxy(t, nil, addrs...)
	c := dial(t, s.Addr())
	for _, inval := range []string{"md k I T30", "delete k", "set"} {
		t.Run(inval, func(t *testing.T) {
			kind, token, _, err := c.leaseGet("k")
			if err != nil || kind != "LVALUE" || token <= HotMissToken {
				t.Fatalf("lease-get: %s %d %v", kind, token, err)
			}
			// A write lands between the miss and the fill.
			mc := dial(t, addrs[0])
			switch inval {
			case "set":
				mc.send("set k 0 0 5\r\nnewer\r\n")
				mc.expect("STORED")
			case "delete k":
				mc.send("delete k\r\n")
				mc.expect("DELETED")
			default:
				mc.send(inval + "\r\n")
				mc.expect("HD")
			}
			c.send(fmt.Sprintf("lease-set k %d 0 0 3\r\nold\r\n", token))
			c.expect("NOT_STORED")
			// Whatever happens next, the old value is not served fresh.
			kind, _, data, err := c.leaseGet("k")
			if err != nil || data == "old" {
				t.Fatalf("after rejected lease-set: %s %q %v", kind, data, err)
			}
			mc.send("delete k\r\n")
			_, _ = mc.readLine()
		})
	}
	if s.Stats().LeaseSetsRejected != 3 {
		t.Fatalf("stats %+v", s.Stats())
	}
	c.send("lease-set k 1 0 0 1\r\nx\r\nlease-set k 0 0 0 1\r\nx\r\n")
	c.expect("NOT_STORED", "NOT_STORED")
}

// Without transparent leases a classic get never holds a lease.
func TestClassicGetOfStaleItemIsMissAndKeepsLease(t *testing.T) {
	_, addrs := startMemcached(t, 1)
	s := startProxy(t, func(c *Config) { c.ClassicLeases = false }, addrs...)
	c := dial(t, s.Addr())
	c.send("set st 0 0 3\r\nold\r\n")
	c.expect("STORED")
	invalidate(t, addrs[0], "st")
	// Directly on memcached a classic get still returns the stale value:
	// that is why the proxy must not pass get through.
	mc := dial(t, addrs[0])
	mc.send("get st\r\n")
	mc.expect("VALUE st 0 3", "old", "END")
	// The proxy's get takes memcached's lease by accident (W) and hands it back.
	c.send("get st\r\ngets st\r\ngat 10 st\r\n")
	c.expect("END", "END", "END")
	kind, token, data, err := c.leaseGet("st")
	if err != nil || kind != "LVALUE" || token <= HotMissToken || data != "old" {
		t.Fatalf("lease-get after classic gets: %s %d %q %v", kind, token, data, err)
	}
	// An empty placeholder is a miss too.
	c.send("get st2\r\n")
	c.expect("END")
	if _, tok, _, _ := c.leaseGet("st2"); tok <= HotMissToken {
		t.Fatalf("no lease for st2")
	}
	c.send("get st2\r\n")
	c.expect("END")
}

func TestServerDownFailsFastAndRecovers(t *testing.T) {
	mcs, addrs := startMemcached(t, 1)
	// A one-minute backend timeout: an answer before it can only come from
	// the down-server fast path.
	s := startProxy(t, func(c *Config) { c.Timeout = time.Minute }, addrs...)
	c := dial(t, s.Addr())
	c.send("set a 0 0 1\r\n1\r\n")
	c.expect("STORED")
	mcs[0].Kill(t)
	cluster.Eventually(t, 10*time.Second, func() error {
		c.send("get a\r\n")
		l, err := c.readLine()
		if err != nil {
			return err
		}
		if l == "END" || l == "VALUE a 0 1" {
			if l == "VALUE a 0 1" {
				c.readLine()
				c.readLine()
			}
			return errors.New("still answered")
		}
		if l != replyBackendDown {
			t.Fatalf("got %q", l)
		}
		return nil
	})
	if up := s.ServersUp(); up[0].Up {
		t.Fatalf("server still up: %+v", up)
	}
	mcs[0].Restart(t)
	cluster.Eventually(t, 10*time.Second, func() error {
		c.send("set a 0 0 1\r\n2\r\n")
		if l, err := c.readLine(); err != nil || l != "STORED" {
			return fmt.Errorf("%q %v", l, err)
		}
		return nil
	})
	if s.Stats().BackendErrors == 0 {
		t.Fatal("no backend errors counted")
	}
}

// A filler that cannot fill gives its lease back: the next lease-get wins a
// new token at once (on a cold key and on an invalidated one, whose stale
// value is kept), the released token can no longer store, and a token that
// no longer holds the lease releases nothing.
func TestLeaseRelease(t *testing.T) {
	_, addrs := startMemcached(t, 1)
	s := startProxy(t, func(c *Config) { c.HotMissWait = 0 }, addrs...)
	c := dial(t, s.Addr())

	c.send("set stale 0 0 2\r\nv1\r\n")
	c.expect("STORED")
	invalidate(t, addrs[0], "stale")
	for _, tc := range []struct{ key, data string }{{"cold", ""}, {"stale", "v1"}} {
		kind, first, data, err := c.leaseGet(tc.key)
		if err != nil || kind != "LVALUE" || first <= HotMissToken || data != tc.data {
			t.Fatalf("%s: first lease-get %s %d %q %v", tc.key, kind, first, data, err)
		}
		if kind, tok, data, _ := c.leaseGet(tc.key); tok != HotMissToken || data != tc.data {
			t.Fatalf("%s: second lease-get while leased: %s %d %q, want a hot miss", tc.key, kind, tok, data)
		}
		c.send(fmt.Sprintf("lease-release %s %d\r\n", tc.key, first))
		c.expect("RELEASED")
		kind, next, data, err := c.leaseGet(tc.key)
		if err != nil || kind != "LVALUE" || next <= HotMissToken || next == first || data != tc.data {
			t.Fatalf("%s: lease-get after release %s %d %q %v, want a new token", tc.key, kind, next, data, err)
		}
		c.send(fmt.Sprintf("lease-set %s %d 0 0 2\r\nv0\r\n", tc.key, first))
		c.expect("NOT_STORED")
		c.send(fmt.Sprintf("lease-release %s %d\r\n", tc.key, first))
		c.expect("NOT_FOUND")
		c.send(fmt.Sprintf("lease-set %s %d 0 0 2\r\nv2\r\n", tc.key, next))
		c.expect("STORED")
		if kind, _, data, _ := c.leaseGet(tc.key); kind != "VALUE" || data != "v2" {
			t.Fatalf("%s: after the new holder's fill: %s %q", tc.key, kind, data)
		}
		// Released after the fill: the token is void, the value stays.
		c.send(fmt.Sprintf("lease-release %s %d\r\n", tc.key, next))
		c.expect("NOT_FOUND")
		if kind, _, data, _ := c.leaseGet(tc.key); kind != "VALUE" || data != "v2" {
			t.Fatalf("%s: a void release changed the value: %s %q", tc.key, kind, data)
		}
	}
	c.send("lease-release cold 1\r\nlease-release cold 0\r\nlease-release cold 7 noreply\r\nmn\r\n")
	c.expect("NOT_FOUND", "NOT_FOUND", "MN")
	c.send("lease-release cold\r\nlease-release cold x\r\n")
	c.expect("ERROR", "CLIENT_ERROR bad command line format")
	if st := s.Stats(); st.LeasesReleased != 2 {
		t.Fatalf("LeasesReleased = %d, want 2", st.LeasesReleased)
	}
}
