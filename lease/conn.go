package lease

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"time"
)

type conn struct {
	nc net.Conn
	r  *bufio.Reader
	w  *bufio.Writer
}

func (c *Client) getConn(ctx context.Context) (*conn, error) {
	select {
	case cn := <-c.idle:
		return cn, nil
	default:
	}
	d := net.Dialer{Timeout: c.opts.dialTimeout}
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, fmt.Errorf("lease: dial %s: %w", c.addr, err)
	}
	return &conn{nc: nc, r: bufio.NewReader(nc), w: bufio.NewWriter(nc)}, nil
}

// putConn returns a healthy connection to the pool; broken ones (err != nil)
// are closed, since their stream position is unknown.
func (c *Client) putConn(cn *conn, err error) {
	if err != nil {
		_ = cn.nc.Close()
		return
	}
	select {
	case c.idle <- cn:
	default:
		_ = cn.nc.Close()
	}
}

func (c *Client) deadline(ctx context.Context) time.Time {
	d := time.Now().Add(c.opts.timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		return cd
	}
	return d
}
