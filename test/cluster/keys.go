package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cachesync/cachesync/lease/memclient"
)

// KeyState is what memcached holds for a key, read without fetching data.
type KeyState int

const (
	KeyValid KeyState = iota
	KeyStale
	KeyMissing
)

func (s KeyState) String() string {
	return [...]string{"valid", "stale", "missing"}[s]
}

// Invalidated is true for a stale (md I) or missing (delete) key.
func (s KeyState) Invalidated() bool { return s != KeyValid }

// KeyClient is a memcached connection for suites that set keys and then
// check which ones the sidecar invalidated; they talk to memcached directly
// so that the only invalidator is the sidecar. After a failed call it dials
// again on the next one.
type KeyClient struct {
	addr string
	c    *memclient.Conn
}

// keyTimeout bounds one call: a pipelined round over many keys.
const keyTimeout = time.Minute

// DialKeys connects to memcached at addr until the test ends.
func DialKeys(t TB, addr string) *KeyClient {
	t.Helper()
	m := &KeyClient{addr: addr}
	if _, err := m.conn(); err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if m.c != nil {
			m.c.Close()
		}
	})
	return m
}

func (m *KeyClient) conn() (*memclient.Conn, error) {
	if m.c == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := memclient.Dial(ctx, m.addr, keyTimeout)
		if err != nil {
			return nil, err
		}
		m.c = c
	}
	return m.c, nil
}

// do runs op on the connection, dropping it after a failure (a failed
// memclient.Conn is closed).
func (m *KeyClient) do(op func(*memclient.Conn) error) error {
	c, err := m.conn()
	if err != nil {
		return err
	}
	if err := op(c); err != nil {
		m.c = nil
		return err
	}
	return nil
}

// SetAll stores a one-byte value under every key.
func (m *KeyClient) SetAll(t TB, keys []string) {
	t.Helper()
	err := m.do(func(c *memclient.Conn) error { return c.Set(context.Background(), keys, []byte("x"), 0) })
	if err != nil {
		t.Fatalf("memcached set: %v", err)
	}
}

// States reads each key's state with a flagless meta get. A flagless mg
// fetches no value, but on a stale item it does hand out the refill lease
// (W); nothing in these tests refills, so that side effect is harmless.
func (m *KeyClient) States(keys []string) ([]KeyState, error) {
	var items []memclient.Item
	err := m.do(func(c *memclient.Conn) (err error) {
		items, err = c.MetaGet(context.Background(), keys, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]KeyState, len(keys))
	for i, it := range items {
		switch {
		case it.Code == "EN":
			out[i] = KeyMissing
		case it.Code == "HD" && it.Stale:
			out[i] = KeyStale
		case it.Code == "HD":
			out[i] = KeyValid
		default:
			return nil, fmt.Errorf("mg %s: %s", keys[i], it.Code)
		}
	}
	return out, nil
}

// AllInvalidated is a condition for Eventually: every key stale or gone.
func (m *KeyClient) AllInvalidated(keys []string) error {
	st, err := m.States(keys)
	if err != nil {
		return err
	}
	var left []string
	for i, s := range st {
		if !s.Invalidated() {
			left = append(left, keys[i])
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("%d of %d keys still valid, e.g. %s", len(left), len(keys), strings.Join(left[:min(5, len(left))], " "))
	}
	return nil
}

// RequireValid fails the test for every key that is no longer valid: the
// sidecar invalidated a key that no change touched.
func (m *KeyClient) RequireValid(t TB, keys []string) {
	t.Helper()
	st, err := m.States(keys)
	if err != nil {
		t.Fatalf("memcached: %v", err)
	}
	var bad []string
	for i, s := range st {
		if s != KeyValid {
			bad = append(bad, keys[i]+"="+s.String())
		}
	}
	if len(bad) > 0 {
		t.Fatalf("%d keys of untouched rows were invalidated: %s", len(bad), strings.Join(bad[:min(10, len(bad))], " "))
	}
}

// KeyRange is prefix+from … prefix+to.
func KeyRange(prefix string, from, to int) []string {
	keys := make([]string, 0, to-from+1)
	for i := from; i <= to; i++ {
		keys = append(keys, fmt.Sprintf("%s%d", prefix, i))
	}
	return keys
}
