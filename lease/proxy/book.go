package proxy

import (
	"sync"
	"sync/atomic"
	"time"
)

// leaseBook remembers the leases classic gets took (transparent leases):
// key -> token, for ttl, at most limit keys, least recently taken evicted
// first. One book serves every client connection of the proxy, since client
// libraries pool connections and a set may come back on another one than
// its get.
type leaseBook struct {
	ttl   time.Duration
	limit int
	// evicted counts leases dropped for room before their ttl: their key's
	// next set is a plain set.
	evicted *atomic.Uint64

	mu sync.Mutex
	m  map[string]*bookEntry
	// root is the sentinel of a ring of entries, most recent after it.
	root bookEntry
}

type bookEntry struct {
	key        string
	token      uint64
	expires    time.Time
	prev, next *bookEntry
}

func newLeaseBook(ttl time.Duration, limit int, evicted *atomic.Uint64) *leaseBook {
	b := &leaseBook{ttl: ttl, limit: limit, evicted: evicted, m: make(map[string]*bookEntry)}
	b.root.prev, b.root.next = &b.root, &b.root
	return b
}

// put remembers token for key from now, replacing an older lease of key.
func (b *leaseBook) put(key []byte, token uint64, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.m[string(key)]
	switch {
	case ok:
		b.unlink(e)
	case len(b.m) >= b.limit:
		// Reuse the oldest entry's memory for the new key.
		e = b.root.prev
		b.unlink(e)
		delete(b.m, e.key)
		if now.Before(e.expires) {
			b.evicted.Add(1)
		}
		e.key = string(key)
		b.m[e.key] = e
	default:
		e = &bookEntry{key: string(key)}
		b.m[e.key] = e
	}
	e.token, e.expires = token, now.Add(b.ttl)
	e.prev, e.next = &b.root, b.root.next
	e.prev.next, e.next.prev = e, e
}

// take returns and forgets key's lease, if one is remembered and younger
// than ttl: a token is good for one store.
func (b *leaseBook) take(key []byte, now time.Time) (token uint64, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.m[string(key)]
	if !ok {
		return 0, false
	}
	b.unlink(e)
	delete(b.m, e.key)
	return e.token, now.Before(e.expires)
}

// len is the number of leases remembered, expired ones included until
// they are taken or pushed out.
func (b *leaseBook) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}

func (b *leaseBook) unlink(e *bookEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}
