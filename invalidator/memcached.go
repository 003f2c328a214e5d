package invalidator

import (
	"context"
	"time"

	"github.com/cachesync/cachesync/lease/memclient"
)

// backend is one memcached server as the delivery loop uses it. Each call is
// one attempt; retries and up/down state live in the loop.
type backend interface {
	invalidate(ctx context.Context, keys []string) error
	flushAll(ctx context.Context) error
	ping(ctx context.Context) error
	close()
}

// mcConn is one long-lived connection to a memcached server, used by one
// goroutine at a time, dialled again after any failure (a failed
// memclient.Conn is closed: its reply stream no longer matches).
type mcConn struct {
	addr        string
	dialTimeout time.Duration
	opTimeout   time.Duration
	md          memclient.DeleteOpts
	conn        *memclient.Conn
}

// newMCConn invalidates with md, or in ModeStale md I T<ttl>: the stale
// copy lives stale_ttl, but on a gutter server no longer than gutter_ttl,
// the most any gutter value lives.
func newMCConn(addr string, cfg *Config, gutter bool) *mcConn {
	var md memclient.DeleteOpts
	if cfg.Mode == ModeStale {
		md = memclient.DeleteOpts{Stale: true, TTL: cfg.StaleTTL}
		if gutter && cfg.GutterTTL > 0 {
			md.TTL = min(cfg.StaleTTL, cfg.GutterTTL)
		}
	}
	return &mcConn{addr: addr, dialTimeout: cfg.DialTimeout, opTimeout: cfg.OpTimeout, md: md}
}

func (c *mcConn) do(ctx context.Context, op func(*memclient.Conn) error) error {
	if c.conn == nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		dctx, cancel := context.WithTimeout(ctx, c.dialTimeout)
		conn, err := memclient.Dial(dctx, c.addr, c.opTimeout)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		c.conn = conn
	}
	if err := op(c.conn); err != nil {
		c.close()
		return err
	}
	return nil
}

func (c *mcConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

func (c *mcConn) invalidate(ctx context.Context, keys []string) error {
	return c.do(ctx, func(m *memclient.Conn) error { return m.Invalidate(ctx, keys, c.md) })
}

func (c *mcConn) flushAll(ctx context.Context) error {
	return c.do(ctx, func(m *memclient.Conn) error { return m.FlushAll(ctx) })
}

func (c *mcConn) ping(ctx context.Context) error {
	return c.do(ctx, func(m *memclient.Conn) error { return m.NoOp(ctx) })
}
