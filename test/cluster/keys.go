package cluster

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"
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

// pipelineChunk bounds how many commands are in flight, so that neither
// side's socket buffer fills while the other waits.
const pipelineChunk = 1000

// KeyClient is a plain-text memcached connection for suites that set keys
// and then check which ones the sidecar invalidated; they talk to memcached
// directly so that the only invalidator is the sidecar.
type KeyClient struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

// DialKeys connects to memcached at addr until the test ends.
func DialKeys(t TB, addr string) *KeyClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial memcached %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &KeyClient{c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 64<<10)}
}

// SetAll stores a one-byte value under every key.
func (m *KeyClient) SetAll(t TB, keys []string) {
	t.Helper()
	err := m.pipeline(keys, func(k string) string { return "set " + k + " 0 0 1\r\nx\r\n" },
		func(k, line string) error {
			if line != "STORED" {
				return fmt.Errorf("set %s: %q", k, line)
			}
			return nil
		})
	if err != nil {
		t.Fatalf("memcached set: %v", err)
	}
}

// States reads each key's state with a flagless meta get. A flagless mg
// fetches no value, but on a stale item it does hand out the refill lease
// (W); nothing in these tests refills, so that side effect is harmless.
func (m *KeyClient) States(keys []string) ([]KeyState, error) {
	out := make([]KeyState, 0, len(keys))
	err := m.pipeline(keys, func(k string) string { return "mg " + k + "\r\n" },
		func(k, line string) error {
			f := strings.Fields(line)
			switch {
			case len(f) == 0:
				return fmt.Errorf("mg %s: empty reply", k)
			case f[0] == "EN":
				out = append(out, KeyMissing)
			case f[0] == "HD":
				st := KeyValid
				for _, flag := range f[1:] {
					if flag == "X" {
						st = KeyStale
					}
				}
				out = append(out, st)
			default:
				return fmt.Errorf("mg %s: %q", k, line)
			}
			return nil
		})
	return out, err
}

func (m *KeyClient) pipeline(keys []string, req func(string) string, reply func(k, line string) error) error {
	_ = m.c.SetDeadline(time.Now().Add(time.Minute))
	defer m.c.SetDeadline(time.Time{})
	for start := 0; start < len(keys); start += pipelineChunk {
		chunk := keys[start:min(start+pipelineChunk, len(keys))]
		for _, k := range chunk {
			if _, err := m.w.WriteString(req(k)); err != nil {
				return err
			}
		}
		if err := m.w.Flush(); err != nil {
			return err
		}
		for _, k := range chunk {
			line, err := m.r.ReadString('\n')
			if err != nil {
				return fmt.Errorf("read reply for %s: %w", k, err)
			}
			if err := reply(k, strings.TrimRight(line, "\r\n")); err != nil {
				return err
			}
		}
	}
	return nil
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
