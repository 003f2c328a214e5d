package invalidation

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// keyState is what memcached holds for a key, read without fetching data.
type keyState int

const (
	valid keyState = iota
	stale
	missing
)

func (s keyState) String() string {
	return [...]string{"valid", "stale", "missing"}[s]
}

func (s keyState) invalidated() bool { return s != valid }

// pipelineChunk bounds how many commands are in flight, so that neither
// side's socket buffer fills while the other waits.
const pipelineChunk = 1000

// mcClient is a plain-text memcached connection; the suite talks to
// memcached directly so that the only invalidator is the sidecar.
type mcClient struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func dialMC(t testing.TB, addr string) *mcClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial memcached %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &mcClient{c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 64<<10)}
}

// setAll stores a one-byte value under every key.
func (m *mcClient) setAll(t testing.TB, keys []string) {
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

// states reads each key's state with a flagless meta get. A flagless mg
// fetches no value, but on a stale item it does hand out the refill lease
// (W); nothing in these tests refills, so that side effect is harmless.
func (m *mcClient) states(keys []string) ([]keyState, error) {
	out := make([]keyState, 0, len(keys))
	err := m.pipeline(keys, func(k string) string { return "mg " + k + "\r\n" },
		func(k, line string) error {
			f := strings.Fields(line)
			switch {
			case len(f) == 0:
				return fmt.Errorf("mg %s: empty reply", k)
			case f[0] == "EN":
				out = append(out, missing)
			case f[0] == "HD":
				st := valid
				for _, flag := range f[1:] {
					if flag == "X" {
						st = stale
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

func (m *mcClient) pipeline(keys []string, req func(string) string, reply func(k, line string) error) error {
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

// allInvalidated is a condition for cluster.Eventually.
func (m *mcClient) allInvalidated(keys []string) error {
	st, err := m.states(keys)
	if err != nil {
		return err
	}
	var left []string
	for i, s := range st {
		if !s.invalidated() {
			left = append(left, keys[i])
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("%d of %d keys still valid, e.g. %s", len(left), len(keys), strings.Join(left[:min(5, len(left))], " "))
	}
	return nil
}

// requireValid fails the test for every key that is no longer valid: the
// sidecar invalidated a key that no change touched.
func (m *mcClient) requireValid(t testing.TB, keys []string) {
	t.Helper()
	st, err := m.states(keys)
	if err != nil {
		t.Fatalf("memcached: %v", err)
	}
	var bad []string
	for i, s := range st {
		if s != valid {
			bad = append(bad, keys[i]+"="+s.String())
		}
	}
	if len(bad) > 0 {
		t.Fatalf("%d keys of untouched rows were invalidated: %s", len(bad), strings.Join(bad[:min(10, len(bad))], " "))
	}
}

func keyRange(prefix string, from, to int) []string {
	keys := make([]string, 0, to-from+1)
	for i := from; i <= to; i++ {
		keys = append(keys, fmt.Sprintf("%s%d", prefix, i))
	}
	return keys
}
