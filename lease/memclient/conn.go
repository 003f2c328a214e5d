package memclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Chunk is the most commands a pipelined call writes before reading their
// replies.
const Chunk = 1024

// ErrClosed is returned by calls on a Conn that was closed, by Close or by
// an earlier error.
var ErrClosed = errors.New("memclient: connection closed")

// Conn is one connection to one memcached server.
type Conn struct {
	addr    string
	timeout time.Duration
	c       net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
}

// Dial connects to memcached at addr. timeout bounds the dial and every
// later round trip.
func Dial(ctx context.Context, addr string, timeout time.Duration) (*Conn, error) {
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial memcached %s: %w", addr, err)
	}
	return &Conn{addr: addr, timeout: timeout, c: c,
		r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 64<<10)}, nil
}

// Addr is the server's address.
func (c *Conn) Addr() string { return c.addr }

// Close closes the connection; it is safe to call twice.
func (c *Conn) Close() error {
	if c.c == nil {
		return nil
	}
	err := c.c.Close()
	c.c = nil
	return err
}

// round runs one request/response exchange under the timeout, letting ctx
// interrupt blocked IO. Any failure closes the connection.
func (c *Conn) round(ctx context.Context, what string, fn func() error) error {
	if c.c == nil {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	conn := c.c
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	err := conn.SetDeadline(time.Now().Add(c.timeout))
	if err == nil {
		err = fn()
	}
	if err == nil {
		return nil
	}
	c.Close()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("memcached %s: %s: %w", c.addr, what, err)
}

// pipeline writes request i for each of n requests and reads its reply,
// Chunk requests at a time, all in one round.
func (c *Conn) pipeline(ctx context.Context, what string, n int, write func(i int), read func(i int) error) error {
	return c.round(ctx, what, func() error {
		for start := 0; start < n; start += Chunk {
			end := min(n, start+Chunk)
			for i := start; i < end; i++ {
				write(i)
			}
			if err := c.w.Flush(); err != nil {
				return err
			}
			for i := start; i < end; i++ {
				if err := read(i); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (c *Conn) line() ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return nil, fmt.Errorf("read reply: %w", err)
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

// simple sends one command and expects one exact line back.
func (c *Conn) simple(ctx context.Context, cmd, want string) error {
	_, err := c.simpleLine(ctx, cmd, func(line []byte) bool { return string(line) == want })
	return err
}

func (c *Conn) simpleLine(ctx context.Context, cmd string, ok func([]byte) bool) (string, error) {
	var got string
	err := c.round(ctx, cmd, func() error {
		c.w.WriteString(cmd)
		c.w.WriteString("\r\n")
		if err := c.w.Flush(); err != nil {
			return err
		}
		line, err := c.line()
		if err != nil {
			return err
		}
		got = string(line)
		if !ok(line) {
			return fmt.Errorf("answered %q", line)
		}
		return nil
	})
	return got, err
}
