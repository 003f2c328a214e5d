package proxy

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// emfileListener fails its first fails Accepts with EMFILE, as a process
// out of descriptors does, then accepts normally.
type emfileListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

func TestAcceptSurvivesDescriptorExhaustion(t *testing.T) {
	_, addrs := startMemcached(t, 1)
	core, logs := observer.New(zap.InfoLevel)
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Servers = addrs
	cfg.Logger = zap.New(core)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ln := &emfileListener{Listener: s.ln}
	ln.fails.Store(6)
	s.ln = ln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	c := dial(t, s.Addr())
	c.send("version\r\n")
	c.expect("VERSION 1.6.18")
	if left := ln.fails.Load(); left >= 0 {
		t.Fatalf("the listener still had %d failures to give", left+1)
	}
	if n := logs.FilterMessageSnippet("accepting client connections failed").Len(); n != 1 {
		t.Fatalf("%d lines logged for the failing state, want 1: %v", n, logs.All())
	}
	// The recovery is logged by the first accept acceptCalm after the last
	// failure.
	cluster.Eventually(t, 10*time.Second, func() error {
		c := dial(t, s.Addr())
		c.send("version\r\n")
		c.expect("VERSION 1.6.18")
		if n := logs.FilterMessageSnippet("accepting client connections again").Len(); n != 1 {
			return fmt.Errorf("%d lines logged for the recovery, want 1", n)
		}
		return nil
	})
}

func TestAcceptBackoffLikeNetHTTP(t *testing.T) {
	var b acceptBackoff
	core, logs := observer.New(zap.InfoLevel)
	log := zap.New(core)
	now := time.Unix(1000, 0)
	var got []int64
	for range 10 {
		got = append(got, b.failed(log, syscall.EMFILE, now).Milliseconds())
	}
	want := []int64{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delays %v ms, want %v", got, want)
		}
	}
	// At the descriptor limit accepts and failures alternate: one state.
	for range 20 {
		now = now.Add(100 * time.Millisecond)
		b.succeeded(log, now)
		if d := b.failed(log, syscall.EMFILE, now); d != acceptRetryMin {
			t.Fatalf("the delay after a success is %v, want %v", d, acceptRetryMin)
		}
	}
	b.succeeded(log, now.Add(acceptCalm))
	if warn, info := logs.FilterMessageSnippet("failed").Len(), logs.FilterMessageSnippet("again").Len(); warn != 1 || info != 1 {
		t.Fatalf("%d failing and %d recovered lines, want 1 and 1: %v", warn, info, logs.All())
	}
	if f := logs.FilterMessageSnippet("again").All()[0].ContextMap()["failed_tries"]; f != int64(30) {
		t.Fatalf("failed_tries %v, want 30", f)
	}
	for _, err := range []error{syscall.EMFILE, syscall.ENFILE, &net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.ECONNABORTED)}} {
		if !retryableAccept(err) {
			t.Errorf("%v not retried", err)
		}
	}
	if retryableAccept(syscall.EBADF) {
		t.Error("EBADF retried")
	}
}
