package proxy

import (
	"fmt"
	"testing"
)

func TestClassicCommandsThroughProxy(t *testing.T) {
	_, addrs := startMemcached(t, 2)
	s := startProxy(t, nil, addrs...)
	c := dial(t, s.Addr())
	c.send("set a 5 0 3\r\nabc\r\nset b 6 0 2\r\nxy\r\nget a b nope a\r\n")
	c.expect("STORED", "STORED", "VALUE a 5 3", "abc", "VALUE b 6 2", "xy", "VALUE a 5 3", "abc", "END")
	c.send("add a 0 0 1\r\nz\r\nreplace zz 0 0 1\r\nz\r\nappend a 0 0 1\r\nd\r\nprepend a 0 0 1\r\n_\r\nget a\r\n")
	c.expect("NOT_STORED", "NOT_STORED", "STORED", "STORED", "VALUE a 5 5", "_abcd", "END")
	c.send("set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 20\r\nincr nope 1\r\ntouch n 100\r\ndelete n\r\ndelete n\r\n")
	c.expect("STORED", "15", "0", "NOT_FOUND", "TOUCHED", "DELETED", "NOT_FOUND")
	// noreply commands produce nothing; the next reply proves ordering.
	c.send("set q 0 0 1 noreply\r\nq\r\ndelete zz noreply\r\nincr q 1 noreply\r\nget q\r\n")
	c.expect("VALUE q 0 1", "q", "END")
	// Pipelining many gets across servers keeps order.
	var req string
	var want []string
	for i := range 50 {
		req += fmt.Sprintf("set k%d 0 0 %d\r\n%d\r\n", i, len(fmt.Sprint(i)), i)
		want = append(want, "STORED")
	}
	for i := range 50 {
		req += fmt.Sprintf("get k%d\r\n", i)
		want = append(want, fmt.Sprintf("VALUE k%d 0 %d", i, len(fmt.Sprint(i))), fmt.Sprint(i), "END")
	}
	c.send(req)
	c.expect(want...)
}

func TestGetsAndCas(t *testing.T) {
	_, addrs := startMemcached(t, 1)
	s := startProxy(t, nil, addrs...)
	c := dial(t, s.Addr())
	c.send("set a 0 0 1\r\n1\r\n")
	c.expect("STORED")
	var cas uint64
	c.send("gets a\r\n")
	l, _ := c.readLine()
	if _, err := fmt.Sscanf(l, "VALUE a 0 1 %d", &cas); err != nil {
		t.Fatalf("%q: %v", l, err)
	}
	c.expect("1", "END")
	c.send(fmt.Sprintf("cas a 0 0 1 %d\r\n2\r\ncas a 0 0 1 %d\r\n3\r\ngat 100 a\r\n", cas, cas))
	c.expect("STORED", "EXISTS", "VALUE a 0 1", "2", "END")
}

func TestFlushAllRefusedUnlessAllowed(t *testing.T) {
	_, addrs := startMemcached(t, 1)
	s := startProxy(t, func(c *Config) { c.AllowFlush = false }, addrs...)
	c := dial(t, s.Addr())
	c.send("set a 0 0 1\r\n1\r\nflush_all\r\nget a\r\n")
	c.expect("STORED", "CLIENT_ERROR flush_all not allowed", "VALUE a 0 1", "1", "END")
}

func TestMetaPassThrough(t *testing.T) {
	_, addrs := startMemcached(t, 2)
	s := startProxy(t, nil, addrs...)
	c := dial(t, s.Addr())
	c.send("ms mk 2 T0 F3\r\nhi\r\nmg mk v f\r\nmg bWs= b v k\r\nmg nope v q\r\nmd nope q\r\nms mk 1 q\r\nx\r\nmn\r\n")
	c.expect("HD", "VA 2 f3", "hi", "VA 2 kmk", "hi", "NF", "MN")
	c.send("mg mk v\r\n")
	c.expect("VA 1", "x")
}

func TestStatsIncludeProxyCounters(t *testing.T) {
	_, addrs := startMemcached(t, 1)
	s := startProxy(t, nil, addrs...)
	c := dial(t, s.Addr())
	c.send("get x\r\n")
	c.expect("END")
	lines := c.roundTrip("stats\r\n", "END")
	has := map[string]bool{}
	for _, l := range lines {
		var name, v string
		fmt.Sscanf(l, "STAT %s %s", &name, &v)
		has[name+"="+v] = true
		has[name] = true
	}
	for _, want := range []string{"pid", "proxy_misses=1", "proxy_cmd_get=1", "proxy_server_0_up=1", "proxy_connections"} {
		if !has[want] {
			t.Fatalf("stats lack %s: %q", want, lines)
		}
	}
}
