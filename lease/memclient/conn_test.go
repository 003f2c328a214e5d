package memclient_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/lease/memclient"
	"github.com/cachesync/cachesync/test/cluster"
)

func dial(t *testing.T, mc *cluster.Memcached) *memclient.Conn {
	t.Helper()
	c, err := memclient.Dial(context.Background(), mc.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func keys(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func TestSetAndMetaGet(t *testing.T) {
	c := dial(t, cluster.StartMemcached(t))
	ctx := context.Background()
	if err := c.Set(ctx, []string{"a", "b"}, []byte("hello"), time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := c.MetaGet(ctx, []string{"a", "missing", "b"}, "v c t")
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 2} {
		it := got[i]
		if it.Code != "VA" || string(it.Value) != "hello" || it.Cas == 0 || it.TTL <= 0 || it.TTL > 60 || it.Stale || it.Win {
			t.Errorf("item %d: %+v %q", i, it.MetaReply, it.Value)
		}
	}
	if got[1].Code != "EN" || got[1].Value != nil {
		t.Errorf("missing key: %+v", got[1])
	}
	// A flagless mg returns HD and no value.
	got, err = c.MetaGet(ctx, []string{"a"}, "")
	if err != nil || got[0].Code != "HD" || got[0].Value != nil {
		t.Fatalf("flagless mg: %+v %v", got, err)
	}
}

func TestInvalidateStaleAndHandBack(t *testing.T) {
	c := dial(t, cluster.StartMemcached(t))
	ctx := context.Background()
	ks := keys("k", 2*memclient.Chunk+10) // several chunks
	if err := c.Set(ctx, ks, []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	// Absent keys are invalidated too.
	if err := c.Invalidate(ctx, append(ks, "absent"), memclient.DeleteOpts{Stale: true, TTL: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	got, err := c.MetaGet(ctx, ks, "v c t")
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range got {
		if it.Code != "VA" || !it.Stale || !it.Win || it.TTL <= 0 || it.TTL > 5 || string(it.Value) != "v" {
			t.Fatalf("%s after md I T5: %+v", ks[i], it.MetaReply)
		}
	}
	// The lease is held: the next reader is told someone else fills.
	again, err := c.MetaGet(ctx, ks[:1], "c")
	if err != nil || again[0].Win || !again[0].Other {
		t.Fatalf("second mg: %+v %v", again, err)
	}
	if err := c.HandBack(ctx, ks, got); err != nil {
		t.Fatal(err)
	}
	// Handed back: the next reader wins the refill, the item still stale.
	again, err = c.MetaGet(ctx, ks[:1], "c")
	if err != nil || !again[0].Win || !again[0].Stale {
		t.Fatalf("mg after hand back: %+v %v", again, err)
	}
}

func TestInvalidateDelete(t *testing.T) {
	c := dial(t, cluster.StartMemcached(t))
	ctx := context.Background()
	ks := keys("d", memclient.Chunk+1)
	if err := c.Set(ctx, ks, []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if err := c.Invalidate(ctx, ks, memclient.DeleteOpts{}); err != nil {
		t.Fatal(err)
	}
	got, err := c.MetaGet(ctx, ks, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range got {
		if it.Code != "EN" {
			t.Fatalf("%s after md: %s", ks[i], it.Code)
		}
	}
}

func TestMetaDeleteCAS(t *testing.T) {
	c := dial(t, cluster.StartMemcached(t))
	ctx := context.Background()
	if err := c.Set(ctx, []string{"k"}, []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	got, err := c.MetaGet(ctx, []string{"k"}, "c")
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.MetaDelete(ctx, "k", memclient.DeleteOpts{CAS: got[0].Cas + 1})
	if err != nil || r.Code != "EX" {
		t.Fatalf("md with a wrong CAS: %+v %v", r, err)
	}
	r, err = c.MetaDelete(ctx, "k", memclient.DeleteOpts{CAS: got[0].Cas})
	if err != nil || r.Code != "HD" {
		t.Fatalf("md with the CAS: %+v %v", r, err)
	}
	r, err = c.MetaDelete(ctx, "k", memclient.DeleteOpts{})
	if err != nil || r.Code != "NF" {
		t.Fatalf("md of an absent key: %+v %v", r, err)
	}
}

func TestFlushAllVersionNoOp(t *testing.T) {
	c := dial(t, cluster.StartMemcached(t))
	ctx := context.Background()
	if err := c.Set(ctx, []string{"k"}, []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if err := c.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := c.MetaGet(ctx, []string{"k"}, ""); err != nil || got[0].Code != "EN" {
		t.Fatalf("after flush_all: %+v %v", got, err)
	}
	v, err := c.Version(ctx)
	if err != nil || v != "1.6.18" {
		t.Fatalf("version %q %v", v, err)
	}
	if err := c.NoOp(ctx); err != nil {
		t.Fatal(err)
	}
}

// An error reply leaves the stream unmatched: the Conn closes itself.
func TestErrorClosesConn(t *testing.T) {
	c := dial(t, cluster.StartMemcached(t))
	ctx := context.Background()
	_, err := c.MetaGet(ctx, []string{strings.Repeat("x", 300)}, "v")
	if err == nil || !strings.Contains(err.Error(), "CLIENT_ERROR") {
		t.Fatalf("mg of a 300-byte key: %v", err)
	}
	if err := c.NoOp(ctx); !errors.Is(err, memclient.ErrClosed) {
		t.Fatalf("after an error: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

// ctx interrupts a round the server never answers, long before the timeout.
func TestContextInterrupts(t *testing.T) {
	mc := cluster.StartMemcached(t)
	c, err := memclient.Dial(context.Background(), mc.Addr(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mc.Pause(t)
	defer mc.Resume(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.NoOp(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("noop on a paused server: %v", err)
	}
}
