package proxy

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

func TestMemccapableASCII(t *testing.T) {
	_, addrs := startMemcached(t, 2)
	s := startProxy(t, nil, addrs...)
	_, port, _ := net.SplitHostPort(s.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/bin/memccapable", "-h", "127.0.0.1", "-p", port, "-a", "-t", "5").CombinedOutput()
	t.Logf("memccapable:\n%s", out)
	if err != nil {
		t.Fatalf("memccapable: %v", err)
	}
	if strings.Contains(string(out), "FAIL") || !strings.Contains(string(out), "All tests passed") {
		t.Fatalf("memccapable did not pass every test")
	}
}

func TestGomemcacheUnchanged(t *testing.T) {
	_, addrs := startMemcached(t, 2)
	s := startProxy(t, nil, addrs...)
	mc := memcache.New(s.Addr())
	mc.Timeout = 5 * time.Second
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	check("Ping", mc.Ping())
	check("Set", mc.Set(&memcache.Item{Key: "a", Value: []byte("1"), Flags: 7}))
	it, err := mc.Get("a")
	check("Get", err)
	if string(it.Value) != "1" || it.Flags != 7 {
		t.Fatalf("Get: %+v", it)
	}
	if _, err := mc.Get("missing"); !errors.Is(err, memcache.ErrCacheMiss) {
		t.Fatalf("Get missing: %v", err)
	}
	check("Add", mc.Add(&memcache.Item{Key: "b", Value: []byte("2")}))
	if err := mc.Add(&memcache.Item{Key: "b", Value: []byte("x")}); !errors.Is(err, memcache.ErrNotStored) {
		t.Fatalf("Add existing: %v", err)
	}
	check("Replace", mc.Replace(&memcache.Item{Key: "b", Value: []byte("3")}))
	check("Append", mc.Append(&memcache.Item{Key: "b", Value: []byte("4")}))
	check("Prepend", mc.Prepend(&memcache.Item{Key: "b", Value: []byte("2")}))
	keys := []string{"a", "b", "c"}
	m, err := mc.GetMulti(keys)
	check("GetMulti", err)
	if len(m) != 2 || string(m["b"].Value) != "234" {
		t.Fatalf("GetMulti: %v", m)
	}
	it, err = mc.Get("b")
	check("Get b", err)
	it.Value = []byte("cas1")
	check("CompareAndSwap", mc.CompareAndSwap(it))
	it.Value = []byte("cas2")
	if err := mc.CompareAndSwap(it); !errors.Is(err, memcache.ErrCASConflict) {
		t.Fatalf("CompareAndSwap stale: %v", err)
	}
	check("Set n", mc.Set(&memcache.Item{Key: "n", Value: []byte("10")}))
	if v, err := mc.Increment("n", 5); err != nil || v != 15 {
		t.Fatalf("Increment: %d %v", v, err)
	}
	if v, err := mc.Decrement("n", 20); err != nil || v != 0 {
		t.Fatalf("Decrement: %d %v", v, err)
	}
	check("Touch", mc.Touch("n", 100))
	if _, err := mc.GetAndTouch("n", 100); err != nil {
		t.Fatalf("GetAndTouch: %v", err)
	}
	check("Delete", mc.Delete("n"))
	if err := mc.Delete("n"); !errors.Is(err, memcache.ErrCacheMiss) {
		t.Fatalf("Delete missing: %v", err)
	}
	check("FlushAll", mc.FlushAll())
	if _, err := mc.Get("a"); !errors.Is(err, memcache.ErrCacheMiss) {
		t.Fatalf("after FlushAll: %v", err)
	}
	check("DeleteAll", mc.DeleteAll())
	big := make([]byte, 2<<20)
	if err := mc.Set(&memcache.Item{Key: "big", Value: big}); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("Set 2 MiB: %v", err)
	}
	check("Ping after big", mc.Ping())
}
