package proxy

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestLeaseBook(t *testing.T) {
	var evicted atomic.Uint64
	b := newLeaseBook(10*time.Second, 3, &evicted)
	now := time.Unix(1000, 0)
	b.put([]byte("a"), 1025, now)
	b.put([]byte("b"), 2049, now)
	if tok, ok := b.take([]byte("a"), now); !ok || tok != 1025 {
		t.Fatalf("take a: %d %v", tok, ok)
	}
	if _, ok := b.take([]byte("a"), now); ok {
		t.Fatal("a token taken twice")
	}
	// A newer lease of a key replaces the older one.
	b.put([]byte("b"), 3073, now)
	if tok, _ := b.take([]byte("b"), now); tok != 3073 {
		t.Fatalf("take b: %d", tok)
	}
	// Expired leases are not handed out.
	b.put([]byte("c"), 4097, now)
	if _, ok := b.take([]byte("c"), now.Add(10*time.Second)); ok {
		t.Fatal("expired lease taken")
	}
	// At the limit the least recent goes first, and is counted.
	for i := range 4 {
		b.put([]byte(fmt.Sprint("k", i)), uint64(1024*(i+1)), now)
	}
	if n := b.len(); n != 3 {
		t.Fatalf("len %d, want 3", n)
	}
	if _, ok := b.take([]byte("k0"), now); ok {
		t.Fatal("the oldest lease survived eviction")
	}
	if evicted.Load() != 1 {
		t.Fatalf("evicted %d, want 1", evicted.Load())
	}
	for i := 1; i < 4; i++ {
		if tok, ok := b.take([]byte(fmt.Sprint("k", i)), now); !ok || tok != uint64(1024*(i+1)) {
			t.Fatalf("k%d: %d %v", i, tok, ok)
		}
	}
	// Expired entries pushed out are not counted as evictions.
	b.put([]byte("x"), 1025, now)
	later := now.Add(time.Minute)
	for i := range 3 {
		b.put([]byte(fmt.Sprint("y", i)), 1025, later)
	}
	if evicted.Load() != 1 {
		t.Fatalf("evicted %d after pushing out an expired lease, want 1", evicted.Load())
	}
}
