package audit

import (
	"context"
	"time"

	"github.com/cachesync/cachesync/lease/memclient"
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
	*memclient.Conn
}

func dialMC(addr string, timeout time.Duration) (*mcConn, error) {
	c, err := memclient.Dial(context.Background(), addr, timeout)
	if err != nil {
		return nil, err
	}
	return &mcConn{c}, nil
}

// fetch reads keys with one pipelined round trip of meta gets; every lease
// won by accident is handed back in a second round trip, leaving the real
// filler's chance intact.
func (m *mcConn) fetch(keys []string) ([]fetched, error) {
	ctx := context.Background()
	items, err := m.MetaGet(ctx, keys, "v c")
	if err != nil {
		return nil, err
	}
	out := make([]fetched, len(keys))
	for i, it := range items {
		switch {
		case it.Code != "VA":
			// EN: a miss.
		case it.Stale:
			out[i] = fetched{state: stale, value: it.Value}
		case it.Placeholder():
			// A fill is in flight; nothing is served.
		default:
			out[i] = fetched{state: cached, value: it.Value}
		}
	}
	return out, m.HandBack(ctx, keys, items)
}
