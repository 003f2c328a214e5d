package proxy

import (
	"io"
	"net"
	"testing"
	"time"
)

// FuzzProxyInput throws arbitrary client bytes at a live proxy in front of a
// real memcached: the proxy must answer and close the connection once the
// client's input ends, and keep serving others afterwards.
func FuzzProxyInput(f *testing.F) {
	for _, s := range []string{
		"get a b c\r\n", "set k 1 2 3\r\nabc\r\nget k\r\n", "gets k\r\ncas k 0 0 1 1\r\nx\r\n",
		"lease-get k\r\nlease-set k 1025 0 0 1\r\nx\r\n", "lease-get r\r\nlease-release r 2048\r\nlease-release r 1 noreply\r\n", "mg k v f c N30 q\r\nmn\r\n",
		"ms k 2 b T0\r\nhi\r\n", "md k I T30\r\nget k\r\n", "stats\r\nstats items\r\n",
		"flush_all\r\nverbosity 1\r\n", "set k 0 0 99999999\r\n", "mg bad!! b v\r\n",
		"gat 10 a b\r\ntouch a 1\r\nincr a 1\r\ndelete a\r\n",
		"get p\r\nadd p 0 0 1\r\nx\r\nget q\r\nreplace q 0 0 1\r\ny\r\nincr q 1\r\nset q 0 0 1\r\nz\r\n",
		"\x80\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01k", "GET / HTTP/1.1\r\nHost: x\r\n",
		"set k 0 0 4294967295\r\nincr k noreply\r\nmg k q\r\nma k q v\r\n",
	} {
		f.Add([]byte(s))
	}
	_, addrs := startMemcached(f, 2)
	s := startProxy(f, func(c *Config) { c.MaxItemSize = 4 << 10; c.HotMissWait = time.Millisecond }, addrs...)
	f.Fuzz(func(t *testing.T, in []byte) {
		nc, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			_, _ = nc.Write(in)
			_ = nc.(*net.TCPConn).CloseWrite()
		}()
		// The proxy must finish: after the input ends it answers what it
		// got and closes, like memcached.
		if _, err := io.Copy(io.Discard, nc); err != nil && !isReset(err) {
			t.Fatalf("proxy did not finish the connection: %v", err)
		}
		c := dial(t, s.Addr())
		c.send("version\r\n")
		c.expect("VERSION 1.6.18")
	})
}
