package cluster

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// TCPProxy forwards 127.0.0.1 connections to a target and can simulate a
// partition: Cut drops every open connection and refuses new ones until Heal.
type TCPProxy struct {
	target string
	addr   string

	mu     sync.Mutex
	ln     net.Listener // nil while cut
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
	// accepted counts the connections accepted so far.
	accepted atomic.Int64
}

// Accepted is the number of connections the proxy has accepted: a test's
// count of how often a client (re)connected.
func (x *TCPProxy) Accepted() int64 { return x.accepted.Load() }

// NewTCPProxy starts a proxy to target on a free port; it is closed at
// t.Cleanup.
func NewTCPProxy(t TB, target string) *TCPProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("tcp proxy to %s: %v", target, err)
	}
	x := &TCPProxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	x.serve(ln)
	t.Cleanup(x.Close)
	return x
}

// Addr is the proxy's host:port; it stays the same across Cut and Heal.
func (x *TCPProxy) Addr() string { return x.addr }

// Cut closes every proxied connection and stops listening, so that new
// connections are refused rather than left hanging.
func (x *TCPProxy) Cut() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ln != nil {
		x.ln.Close()
		x.ln = nil
	}
	for c := range x.conns {
		c.Close()
	}
}

// Heal listens again on the same address. It panics if the port was taken
// in between, which only another process could do.
func (x *TCPProxy) Heal() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ln != nil || x.closed {
		return
	}
	ln, err := net.Listen("tcp", x.addr)
	if err != nil {
		panic("cluster: tcp proxy heal: " + err.Error())
	}
	x.serveLocked(ln)
}

// Close stops the proxy and waits for its goroutines; safe to call twice.
func (x *TCPProxy) Close() {
	x.Cut()
	x.mu.Lock()
	x.closed = true
	x.mu.Unlock()
	x.wg.Wait()
}

func (x *TCPProxy) serve(ln net.Listener) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.serveLocked(ln)
}

func (x *TCPProxy) serveLocked(ln net.Listener) {
	x.ln = ln
	x.wg.Add(1)
	go func() {
		defer x.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			x.accepted.Add(1)
			x.wg.Add(1)
			go func() {
				defer x.wg.Done()
				x.forward(c)
			}()
		}
	}()
}

// track registers c unless the proxy is cut, so that Cut never misses a
// connection accepted just before it.
func (x *TCPProxy) track(cs ...net.Conn) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ln == nil {
		return false
	}
	for _, c := range cs {
		x.conns[c] = struct{}{}
	}
	return true
}

func (x *TCPProxy) untrack(cs ...net.Conn) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, c := range cs {
		delete(x.conns, c)
		c.Close()
	}
}

func (x *TCPProxy) forward(client net.Conn) {
	server, err := net.Dial("tcp", x.target)
	if err != nil {
		client.Close()
		return
	}
	if !x.track(client, server) {
		client.Close()
		server.Close()
		return
	}
	defer x.untrack(client, server)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Half-close so request/response protocols see EOF in order.
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	<-done
}
