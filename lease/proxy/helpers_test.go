package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
)

// startProxy runs a proxy in front of the given memcached servers until the
// test ends.
func startProxy(t testing.TB, mutate func(*Config), servers ...string) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Servers = servers
	cfg.AllowFlush = true
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy Run: %v", err)
		}
		_ = s.Close()
		_ = s.Close()
	})
	// Run serves once the pool dialled every server; a version round trip
	// proves it.
	c := dial(t, s.Addr())
	c.send("version\r\n")
	c.expect("VERSION 1.6.18")
	return s
}

func startMemcached(t testing.TB, n int) ([]*cluster.Memcached, []string) {
	t.Helper()
	var mcs []*cluster.Memcached
	var addrs []string
	for range n {
		m := cluster.StartMemcached(t)
		mcs = append(mcs, m)
		addrs = append(addrs, m.Addr())
	}
	return mcs, addrs
}

// rawConn is a line-level memcached text protocol client for tests.
type rawConn struct {
	t  testing.TB
	nc net.Conn
	r  *bufio.Reader
}

func dial(t testing.TB, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return &rawConn{t: t, nc: nc, r: bufio.NewReader(nc)}
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	_ = c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.nc.Write([]byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *rawConn) readLine() (string, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := c.r.ReadString('\n')
	return strings.TrimSuffix(l, "\r\n"), err
}

// expect reads len(lines) lines and compares them.
func (c *rawConn) expect(lines ...string) {
	c.t.Helper()
	for _, want := range lines {
		got, err := c.readLine()
		if err != nil {
			c.t.Fatalf("reading %q: %v", want, err)
		}
		if got != want {
			c.t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// roundTrip sends req and reads lines until one equals last (inclusive) or
// is an error line.
func (c *rawConn) roundTrip(req, last string) []string {
	c.t.Helper()
	c.send(req)
	var out []string
	for {
		l, err := c.readLine()
		if err != nil {
			c.t.Fatalf("%q: read: %v (so far %q)", req, err, out)
		}
		out = append(out, l)
		if l == last || strings.Contains(l, "ERROR") {
			return out
		}
	}
}

// leaseGet performs one lease-get and returns kind ("VALUE" or "LVALUE"),
// token and data.
func (c *rawConn) leaseGet(key string) (kind string, token uint64, data string, err error) {
	if _, err := c.nc.Write([]byte("lease-get " + key + "\r\n")); err != nil {
		return "", 0, "", err
	}
	l, err := c.readLine()
	if err != nil {
		return "", 0, "", err
	}
	var k string
	var flags, n int
	switch {
	case strings.HasPrefix(l, "VALUE "):
		_, err = fmt.Sscanf(l, "VALUE %s %d %d", &k, &flags, &n)
		kind = "VALUE"
	case strings.HasPrefix(l, "LVALUE "):
		_, err = fmt.Sscanf(l, "LVALUE %s %d %d %d", &k, &token, &flags, &n)
		kind = "LVALUE"
	default:
		return "", 0, "", fmt.Errorf("lease-get %s: %q", key, l)
	}
	if err != nil {
		return "", 0, "", fmt.Errorf("parse %q: %w", l, err)
	}
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(c.r, buf); err != nil {
		return "", 0, "", err
	}
	if end, err := c.readLine(); err != nil || end != "END" {
		return "", 0, "", fmt.Errorf("after %q: %q %v", l, end, err)
	}
	return kind, token, string(buf[:n]), nil
}
