package proxy

import (
	"errors"
	"io"
	"testing"
	"time"
)

func TestMaxConns(t *testing.T) {
	_, addrs := startMemcached(t, 1)
	// startProxy's readiness connection stays open until cleanup: it is one
	// of the two.
	s := startProxy(t, func(c *Config) { c.MaxConns = 2 }, addrs...)
	a := dial(t, s.Addr())
	a.send("version\r\n")
	a.expect("VERSION 1.6.18")
	b := dial(t, s.Addr())
	b.expect("ERROR Too many open connections")
	if _, err := b.readLine(); !errors.Is(err, io.EOF) {
		t.Fatalf("over-limit connection not closed: %v", err)
	}
	if s.Stats().Connections != 2 {
		t.Fatalf("stats %+v", s.Stats())
	}
}

func TestIdleTimeoutClosesIdleConnections(t *testing.T) {
	_, addrs := startMemcached(t, 1)
	s := startProxy(t, func(c *Config) { c.IdleTimeout = 50 * time.Millisecond }, addrs...)
	c := dial(t, s.Addr())
	c.send("version\r\n")
	c.expect("VERSION 1.6.18")
	if _, err := c.readLine(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection not closed: %v", err)
	}
}
