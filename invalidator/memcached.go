package invalidator

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"time"
)

// backend is one memcached server as the delivery loop uses it. Each call is
// one attempt; retries and up/down state live in the loop.
type backend interface {
	invalidate(ctx context.Context, keys []string) error
	flushAll(ctx context.Context) error
	ping(ctx context.Context) error
	close()
}

// pipelineChunk bounds the commands written before reading the replies, so
// the replies (an NF per missing key) always fit in the socket buffers and
// neither side can block the other.
const pipelineChunk = 1024

// mcConn is one long-lived connection to a memcached server, used by one
// goroutine at a time.
type mcConn struct {
	addr        string
	dialTimeout time.Duration
	opTimeout   time.Duration
	// suffix ends each md command: quiet, so only failures (and, in
	// memcached 1.6.18, NF for absent keys) are answered before MN.
	suffix string

	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
}

func newMCConn(addr string, cfg *Config) *mcConn {
	suffix := " q\r\n"
	if cfg.Mode == ModeStale {
		suffix = " I T" + strconv.Itoa(int(cfg.StaleTTL/time.Second)) + " q\r\n"
	}
	return &mcConn{addr: addr, dialTimeout: cfg.DialTimeout, opTimeout: cfg.OpTimeout, suffix: suffix}
}

func (c *mcConn) connect(ctx context.Context) error {
	if c.conn != nil {
		return nil
	}
	d := net.Dialer{Timeout: c.dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return fmt.Errorf("dial memcached %s: %w", c.addr, err)
	}
	c.conn = conn
	c.r = bufio.NewReaderSize(conn, 4096)
	c.w = bufio.NewWriterSize(conn, 64<<10)
	return nil
}

func (c *mcConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// exchange runs one request/response round with a deadline, and lets ctx
// interrupt blocked IO. Any failure closes the connection: after an error
// the reply stream can no longer be matched to commands.
func (c *mcConn) exchange(ctx context.Context, round func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.connect(ctx); err != nil {
		return err
	}
	conn := c.conn
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := conn.SetDeadline(time.Now().Add(c.opTimeout)); err != nil {
		c.close()
		return fmt.Errorf("memcached %s: %w", c.addr, err)
	}
	if err := round(); err != nil {
		c.close()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("memcached %s: %w", c.addr, err)
	}
	return nil
}

func (c *mcConn) invalidate(ctx context.Context, keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), pipelineChunk)
		chunk := keys[:n]
		keys = keys[n:]
		if err := c.exchange(ctx, func() error { return c.mdChunk(chunk) }); err != nil {
			return err
		}
	}
	return nil
}

func (c *mcConn) mdChunk(keys []string) error {
	for _, k := range keys {
		c.w.WriteString("md ")
		c.w.WriteString(k)
		c.w.WriteString(c.suffix)
	}
	c.w.WriteString("mn\r\n")
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("write %d invalidations: %w", len(keys), err)
	}
	var failure []byte
	for {
		line, err := c.readLine()
		if err != nil {
			return fmt.Errorf("read replies to %d invalidations: %w", len(keys), err)
		}
		switch {
		case bytes.Equal(line, []byte("MN")):
			if failure != nil {
				return fmt.Errorf("invalidation refused: %s", failure)
			}
			return nil
		case bytes.HasPrefix(line, []byte("HD")), bytes.HasPrefix(line, []byte("NF")):
			// Success: marked/deleted, or already absent.
		default:
			if failure == nil {
				failure = append([]byte(nil), line...)
			}
			if bytes.Equal(line, []byte("ERROR")) {
				// memcached did not parse a command; it may not reach MN.
				return fmt.Errorf("invalidation refused: %s", failure)
			}
		}
	}
}

func (c *mcConn) readLine() ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

func (c *mcConn) simple(ctx context.Context, cmd, want string) error {
	return c.exchange(ctx, func() error {
		c.w.WriteString(cmd)
		if err := c.w.Flush(); err != nil {
			return err
		}
		line, err := c.readLine()
		if err != nil {
			return err
		}
		if string(line) != want {
			return fmt.Errorf("%q answered %q", cmd[:len(cmd)-2], line)
		}
		return nil
	})
}

func (c *mcConn) flushAll(ctx context.Context) error { return c.simple(ctx, "flush_all\r\n", "OK") }

func (c *mcConn) ping(ctx context.Context) error { return c.simple(ctx, "mn\r\n", "MN") }
