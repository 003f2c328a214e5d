package memclient

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Set stores value under every key (flags 0, exptime ttl in whole seconds,
// 0: no expiry), pipelined.
func (c *Conn) Set(ctx context.Context, keys []string, value []byte, ttl time.Duration) error {
	head := " 0 " + strconv.FormatInt(int64(ttl/time.Second), 10) + " " + strconv.Itoa(len(value)) + "\r\n"
	return c.pipeline(ctx, "set", len(keys),
		func(i int) {
			c.w.WriteString("set ")
			c.w.WriteString(keys[i])
			c.w.WriteString(head)
			c.w.Write(value)
			c.w.WriteString("\r\n")
		},
		func(i int) error {
			line, err := c.line()
			if err != nil {
				return err
			}
			if string(line) != "STORED" {
				return fmt.Errorf("set %s: %q", keys[i], line)
			}
			return nil
		})
}

// FlushAll empties the server.
func (c *Conn) FlushAll(ctx context.Context) error { return c.simple(ctx, "flush_all", "OK") }

// NoOp runs mn: a round trip that proves the server answers.
func (c *Conn) NoOp(ctx context.Context) error { return c.simple(ctx, "mn", "MN") }

// Version returns the server's version, e.g. "1.6.18".
func (c *Conn) Version(ctx context.Context) (string, error) {
	line, err := c.simpleLine(ctx, "version", func(l []byte) bool { return strings.HasPrefix(string(l), "VERSION ") })
	return strings.TrimPrefix(line, "VERSION "), err
}
