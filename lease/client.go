package lease

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cachesync/cachesync/lease/keys"
	"github.com/cachesync/cachesync/lease/memproto"
)

// HotMissToken is the token of a lease-get answer that grants no lease.
const HotMissToken = memproto.HotMissToken

// ErrServer is wrapped by errors the proxy reported (SERVER_ERROR ...).
var ErrServer = errors.New("lease: server error")

// Lease is the answer to a lease-get.
type Lease struct {
	// Hit: Value is fresh.
	Hit bool
	// Token > 1: this caller must fill and LeaseSet with it. Token 1: someone
	// else is filling.
	Token uint64
	// Value is the fresh value on a hit, else the stale value (possibly
	// empty: an empty stale value cannot be told from none).
	Value []byte
	Flags uint32
}

// Client talks to a cachesync proxy. It is safe for concurrent use.
type Client struct {
	addr string
	opts options
	idle chan *conn

	closeOnce sync.Once
}

// NewClient returns a client of the proxy at addr; it dials lazily.
func NewClient(addr string, opts ...Option) (*Client, error) {
	if addr == "" {
		return nil, errors.New("lease: empty proxy address")
	}
	o := defaultOptions()
	for _, f := range opts {
		f(&o)
	}
	if o.timeout <= 0 || o.minBackoff <= 0 || o.maxBackoff < o.minBackoff || o.maxIdle < 0 {
		return nil, errors.New("lease: invalid options")
	}
	return &Client{addr: addr, opts: o, idle: make(chan *conn, o.maxIdle)}, nil
}

// Close closes idle connections; safe to call twice.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		for {
			select {
			case cn := <-c.idle:
				_ = cn.nc.Close()
			default:
				return
			}
		}
	})
	return nil
}

// GetOrFill returns key's value, calling fill to compute it when this caller
// holds the lease, and storing the result for ttl (0: no expiry).
func (c *Client) GetOrFill(ctx context.Context, key string, ttl time.Duration,
	fill func(ctx context.Context) ([]byte, error)) ([]byte, error) {
	backoff := c.opts.minBackoff
	for {
		l, err := c.LeaseGet(ctx, key)
		if err != nil {
			return nil, err
		}
		switch {
		case l.Hit:
			return l.Value, nil
		case l.Token > HotMissToken:
			v, err := fill(ctx)
			if err != nil {
				// Give the lease back so the next reader fills now rather
				// than after the proxy's lease_ttl; the caller's context
				// may be what failed, so the release gets its own deadline.
				_, relErr := c.LeaseRelease(context.WithoutCancel(ctx), key, l.Token)
				return nil, errors.Join(fmt.Errorf("lease: fill %s: %w", key, err), relErr)
			}
			// NOT_STORED means an invalidation voided the lease: the value is
			// still what the caller read, but it must not be cached.
			if _, err := c.LeaseSet(ctx, key, l.Token, v, ttl); err != nil {
				return nil, err
			}
			return v, nil
		case c.opts.serveStale && len(l.Value) > 0:
			return l.Value, nil
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("lease: waiting for fill of %s: %w", key, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, c.opts.maxBackoff)
	}
}

// GetOrFillKey renders template with row's values, exactly as the
// invalidator renders it, and calls GetOrFill.
func (c *Client) GetOrFillKey(ctx context.Context, template string, row map[string]string,
	ttl time.Duration, fill func(ctx context.Context) ([]byte, error)) ([]byte, error) {
	key, err := keys.Render(template, func(col string) (string, bool) {
		v, ok := row[col]
		return v, ok
	})
	if err != nil {
		return nil, fmt.Errorf("lease: render key %q: %w", template, err)
	}
	return c.GetOrFill(ctx, key, ttl, fill)
}

// LeaseGet sends "lease-get <key>".
func (c *Client) LeaseGet(ctx context.Context, key string) (Lease, error) {
	var l Lease
	err := c.roundTrip(ctx, "lease-get", key, func(w *bufio.Writer) error {
		_, err := fmt.Fprintf(w, "lease-get %s\r\n", key)
		return err
	}, func(cn *conn, line string) (err error) {
		f := strings.Fields(line)
		var size int
		switch {
		case len(f) == 4 && f[0] == "VALUE":
			l.Hit = true
			l.Flags, size, err = parseFlagsSize(f[2], f[3])
		case len(f) == 5 && f[0] == "LVALUE":
			if l.Token, err = strconv.ParseUint(f[2], 10, 64); err == nil {
				l.Flags, size, err = parseFlagsSize(f[3], f[4])
			}
		default:
			err = replyError(line)
		}
		if err != nil {
			return err
		}
		l.Value = make([]byte, size+2)
		if _, err = io.ReadFull(cn.r, l.Value); err == nil {
			var end string
			if end, err = readLine(cn); err == nil && end != "END" {
				err = fmt.Errorf("unexpected %q", end)
			}
		}
		l.Value = l.Value[:size]
		return err
	})
	if err != nil {
		return Lease{}, err
	}
	return l, nil
}

// LeaseSet stores value under key if token is still valid; false means the
// lease was voided by an invalidation (NOT_STORED).
func (c *Client) LeaseSet(ctx context.Context, key string, token uint64, value []byte, ttl time.Duration) (stored bool, err error) {
	return c.oneLine(ctx, "lease-set", key, "STORED", []string{"NOT_STORED", "STALE_STORED"}, func(w *bufio.Writer) error {
		_, err := fmt.Fprintf(w, "lease-set %s %d 0 %d %d\r\n", key, token, exptime(ttl), len(value))
		_, _ = w.Write(value)
		_, _ = w.WriteString("\r\n")
		return err
	})
}

// LeaseRelease gives back the lease token holds on key, for a caller that
// got the lease but cannot fill: the next lease-get wins it at once. False
// means the token held nothing any more (an invalidation, a write or the
// lease's expiry came first).
func (c *Client) LeaseRelease(ctx context.Context, key string, token uint64) (released bool, err error) {
	return c.oneLine(ctx, "lease-release", key, "RELEASED", []string{"NOT_FOUND"}, func(w *bufio.Writer) error {
		_, err := fmt.Fprintf(w, "lease-release %s %d\r\n", key, token)
		return err
	})
}

// oneLine sends the request write builds for key and reads its one-line
// reply: true for yes, false for any of no, an error for anything else.
func (c *Client) oneLine(ctx context.Context, cmd, key, yes string, no []string, write func(*bufio.Writer) error) (ok bool, err error) {
	err = c.roundTrip(ctx, cmd, key, write, func(_ *conn, line string) error {
		switch {
		case line == yes:
			ok = true
			return nil
		case slices.Contains(no, line):
			return nil
		}
		return replyError(line)
	})
	return ok && err == nil, err
}

// roundTrip sends the request write builds for key on a pooled connection,
// reads the reply's first line and hands it to read, which may read the
// rest. Errors after the key check and dial are wrapped as
// "lease: <cmd> <key>: ..."; the connection is reused only after a clean
// exchange.
func (c *Client) roundTrip(ctx context.Context, cmd, key string, write func(*bufio.Writer) error,
	read func(cn *conn, line string) error) (err error) {
	if err := checkKey(key); err != nil {
		return err
	}
	cn, err := c.getConn(ctx)
	if err != nil {
		return err
	}
	defer func() { c.putConn(cn, err) }()
	_ = cn.nc.SetDeadline(c.deadline(ctx))
	if err = write(cn.w); err == nil {
		err = cn.w.Flush()
	}
	var line string
	if err == nil {
		line, err = readLine(cn)
	}
	if err == nil {
		err = read(cn, line)
	}
	if err != nil {
		return fmt.Errorf("lease: %s %s: %w", cmd, key, err)
	}
	return nil
}

func readLine(cn *conn) (string, error) {
	l, err := cn.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r"), nil
}

func parseFlagsSize(flags, size string) (uint32, int, error) {
	f, err := strconv.ParseUint(flags, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("bad flags %q", flags)
	}
	n, err := strconv.Atoi(size)
	if err != nil || n < 0 || n > 1<<30 {
		return 0, 0, fmt.Errorf("bad size %q", size)
	}
	return uint32(f), n, nil
}

func replyError(line string) error {
	if memproto.IsErrorReply([]byte(line)) {
		return fmt.Errorf("%w: %s", ErrServer, line)
	}
	return fmt.Errorf("unexpected reply %q", line)
}

// checkKey refuses keys the proxy would reject, before they hit the wire.
func checkKey(key string) error {
	if len(key) == 0 || len(key) > memproto.KeyMaxLength {
		return fmt.Errorf("lease: key of %d bytes (1..%d)", len(key), memproto.KeyMaxLength)
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] == 0x7f {
			return fmt.Errorf("lease: key %q has a space or control character", key)
		}
	}
	return nil
}

// exptime converts ttl to memcached's exptime: seconds, rounded up, or an
// absolute Unix time beyond memcached's 30-day relative limit.
func exptime(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	s := int64((ttl + time.Second - 1) / time.Second)
	if s > 30*24*3600 {
		return time.Now().Unix() + s
	}
	return s
}
