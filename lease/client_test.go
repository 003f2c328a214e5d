package lease_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachesync/cachesync/lease"
	"github.com/cachesync/cachesync/lease/proxy"
	"github.com/cachesync/cachesync/test/cluster"
)

// startStack runs memcached and a proxy in front of it; newClient builds
// clients of that proxy.
func startStack(t *testing.T, hotMissWait time.Duration) (mcAddr string, newClient func(...lease.Option) *lease.Client) {
	t.Helper()
	mc := cluster.StartMemcached(t)
	cfg := proxy.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Servers = []string{mc.Addr()}
	cfg.HotMissWait = hotMissWait
	p, err := proxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return mc.Addr(), func(o ...lease.Option) *lease.Client {
		c, err := lease.NewClient(p.Addr(), o...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close(); _ = c.Close() })
		return c
	}
}

// memcachedCmd sends one command straight to memcached and returns its first
// reply line.
func memcachedCmd(t *testing.T, addr, cmd string) string {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write([]byte(cmd)); err != nil {
		t.Fatal(err)
	}
	l, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(l)
}

func fillWith(v string, calls *atomic.Int32, delay time.Duration) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) {
		calls.Add(1)
		time.Sleep(delay) // simulates the database read, not a wait for a condition
		return []byte(v), nil
	}
}

func TestGetOrFillColdKeyOneFill(t *testing.T) {
	_, newClient := startStack(t, 50*time.Millisecond)
	c := newClient()
	var calls atomic.Int32
	var wg sync.WaitGroup
	const readers = 100
	errs := make(chan error, readers)
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			v, err := c.GetOrFill(ctx, "user:1", time.Minute, fillWith("alice", &calls, 20*time.Millisecond))
			if err == nil && string(v) != "alice" {
				err = errors.New("got " + string(v))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("fill called %d times, want 1", n)
	}
	// A hit now, no fill.
	v, err := c.GetOrFill(context.Background(), "user:1", time.Minute, fillWith("x", &calls, 0))
	if err != nil || string(v) != "alice" || calls.Load() != 1 {
		t.Fatalf("hit: %q %v calls=%d", v, err, calls.Load())
	}
}

func TestGetOrFillAfterInvalidation(t *testing.T) {
	mcAddr, newClient := startStack(t, 50*time.Millisecond)
	for _, serveStale := range []bool{true, false} {
		c := newClient(lease.WithServeStale(serveStale))
		var calls atomic.Int32
		key := "post:7"
		if serveStale {
			key = "post:8"
		}
		if _, err := c.GetOrFill(context.Background(), key, 0, fillWith("v1", &calls, 0)); err != nil {
			t.Fatal(err)
		}
		if l := memcachedCmd(t, mcAddr, "md "+key+" I T30\r\n"); l != "HD" {
			t.Fatalf("md: %q", l)
		}
		var wg sync.WaitGroup
		var stale, fresh atomic.Int32
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				v, err := c.GetOrFill(ctx, key, 0, fillWith("v2", &calls, 30*time.Millisecond))
				switch {
				case err != nil:
					t.Error(err)
				case string(v) == "v1":
					stale.Add(1)
				case string(v) == "v2":
					fresh.Add(1)
				}
			}()
		}
		wg.Wait()
		if calls.Load() != 2 {
			t.Fatalf("serveStale=%v: %d fills, want 1 initial + 1 refill", serveStale, calls.Load())
		}
		if !serveStale && stale.Load() != 0 {
			t.Fatalf("serveStale=false but %d readers got the stale value", stale.Load())
		}
		if serveStale && stale.Load() == 0 {
			t.Fatalf("serveStale=true but nobody got the stale value (fresh %d)", fresh.Load())
		}
	}
}

func TestGetOrFillKeyRendersLikeInvalidator(t *testing.T) {
	mcAddr, newClient := startStack(t, 50*time.Millisecond)
	c := newClient()
	var calls atomic.Int32
	v, err := c.GetOrFillKey(context.Background(), "user_by_name:{name}", map[string]string{"name": "Zoë B"},
		time.Minute, fillWith("row", &calls, 0))
	if err != nil || string(v) != "row" {
		t.Fatalf("%q %v", v, err)
	}
	if l := memcachedCmd(t, mcAddr, "mg user_by_name:Zo%C3%AB%20B v\r\n"); l != "VA 3" {
		t.Fatalf("rendered key not in memcached: %q", l)
	}
	if _, err := c.GetOrFillKey(context.Background(), "user:{id}", map[string]string{}, 0, fillWith("x", &calls, 0)); err == nil {
		t.Fatal("no error for a missing column")
	}
}

func TestGetOrFillErrors(t *testing.T) {
	_, newClient := startStack(t, 0)
	c := newClient()
	boom := errors.New("db down")
	_, err := c.GetOrFill(context.Background(), "e", 0, func(context.Context) ([]byte, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("fill error not returned: %v", err)
	}
	if _, err := c.GetOrFill(context.Background(), "bad key", 0, nil); err == nil {
		t.Fatal("no error for a key with a space")
	}
}

// A fill that fails gives its lease back, so the next reader fills at once
// instead of waiting out the proxy's lease_ttl (10 s, longer than these
// readers' 5 s): on a cold key, on an invalidated key (where the stale value
// must not be taken for the refill), and when the failure is the filler's
// own context ending.
func TestGetOrFillFailedFillReleasesLease(t *testing.T) {
	mcAddr, newClient := startStack(t, 0)
	c := newClient(lease.WithServeStale(false))
	boom := errors.New("db down")
	var calls atomic.Int32
	if _, err := c.GetOrFill(context.Background(), "inv", 0, fillWith("v1", &calls, 0)); err != nil {
		t.Fatal(err)
	}
	if l := memcachedCmd(t, mcAddr, "md inv I T30\r\n"); l != "HD" {
		t.Fatalf("md: %q", l)
	}
	cancelled, cancelFill := context.WithCancel(context.Background())
	for _, tc := range []struct {
		key  string
		ctx  context.Context
		fail func(context.Context) ([]byte, error)
		want error
	}{
		{"cold", context.Background(), func(context.Context) ([]byte, error) { return nil, boom }, boom},
		{"inv", context.Background(), func(context.Context) ([]byte, error) { return nil, boom }, boom},
		{"ctx", cancelled, func(ctx context.Context) ([]byte, error) { cancelFill(); return nil, ctx.Err() }, context.Canceled},
	} {
		if _, err := c.GetOrFill(tc.ctx, tc.key, 0, tc.fail); !errors.Is(err, tc.want) {
			t.Fatalf("%s: failed fill returned %v, want %v", tc.key, err, tc.want)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var refills atomic.Int32
		v, err := c.GetOrFill(ctx, tc.key, 0, fillWith("v2", &refills, 0))
		cancel()
		if err != nil || string(v) != "v2" || refills.Load() != 1 {
			t.Fatalf("%s: next reader got %q, %v after %d fills; want v2 from its own fill", tc.key, v, err, refills.Load())
		}
	}
}
