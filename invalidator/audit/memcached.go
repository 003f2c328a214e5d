package audit

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/cachesync/cachesync/lease/memproto"
)

// state is what a key holds in memcached, as a reader would see it.
type state int

const (
	missing state = iota // no item, or an empty lease placeholder awaiting its fill
	stale                // marked stale by an invalidation
	cached               // a live value
)

type fetched struct {
	state state
	value []byte
}

// mcConn is one pipelined connection to one memcached server.
type mcConn struct {
	addr    string
	c       net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	timeout time.Duration
}

func dialMC(addr string, timeout time.Duration) (*mcConn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, fmt.Errorf("dial memcached %s: %w", addr, err)
	}
	return &mcConn{addr: addr, c: c, r: bufio.NewReader(c), w: bufio.NewWriter(c), timeout: timeout}, nil
}

func (m *mcConn) Close() error { return m.c.Close() }

// fetch reads keys with one pipelined round trip of meta gets; every lease
// won by accident is handed back (memproto.AppendHandBack) in a second round
// trip, leaving the real filler's chance intact.
func (m *mcConn) fetch(keys []string) ([]fetched, error) {
	_ = m.c.SetDeadline(time.Now().Add(m.timeout))
	for _, k := range keys {
		fmt.Fprintf(m.w, "mg %s v c\r\n", k)
	}
	if err := m.w.Flush(); err != nil {
		return nil, fmt.Errorf("memcached %s: write: %w", m.addr, err)
	}
	out := make([]fetched, len(keys))
	var wins [][]byte
	for i, k := range keys {
		line, err := m.line()
		if err != nil {
			return nil, err
		}
		r, ok := memproto.ParseMetaReply(line)
		if !ok {
			return nil, fmt.Errorf("memcached %s: mg %s: unexpected reply %q", m.addr, k, line)
		}
		if r.Code != "VA" {
			continue // EN: a miss
		}
		data := make([]byte, r.Size+2)
		if _, err := io.ReadFull(m.r, data); err != nil {
			return nil, fmt.Errorf("memcached %s: mg %s: read value: %w", m.addr, k, err)
		}
		if r.Win {
			wins = append(wins, memproto.AppendHandBack(nil, k, r.Cas))
		}
		switch {
		case r.Stale:
			out[i] = fetched{state: stale, value: data[:r.Size]}
		case r.Placeholder():
			// A fill is in flight; nothing is served.
		default:
			out[i] = fetched{state: cached, value: data[:r.Size]}
		}
	}
	return out, m.handBack(wins)
}

func (m *mcConn) handBack(reqs [][]byte) error {
	if len(reqs) == 0 {
		return nil
	}
	for _, r := range reqs {
		m.w.Write(r)
	}
	if err := m.w.Flush(); err != nil {
		return fmt.Errorf("memcached %s: hand back leases: %w", m.addr, err)
	}
	for range reqs {
		line, err := m.line()
		if err != nil {
			return fmt.Errorf("hand back lease: %w", err)
		}
		// EX/NF: an invalidation or a fill came first, which clears the win too.
		if r, ok := memproto.ParseMetaReply(line); !ok || (r.Code != "HD" && r.Code != "EX" && r.Code != "NF") {
			return fmt.Errorf("memcached %s: hand back lease: unexpected reply %q", m.addr, line)
		}
	}
	return nil
}

func (m *mcConn) line() ([]byte, error) {
	line, err := m.r.ReadSlice('\n')
	if err != nil {
		return nil, fmt.Errorf("memcached %s: read reply: %w", m.addr, err)
	}
	return bytes.TrimRight(line, "\r\n"), nil
}
