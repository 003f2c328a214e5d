package backend

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"sync"
	"time"
)

// conn is one pipelined connection: a writer goroutine batches queued ops
// into one flush, a reader goroutine matches replies to them in order.
type conn struct {
	nc      net.Conn
	timeout time.Duration
	r       *bufio.Reader
	w       *bufio.Writer

	mu     sync.Mutex
	queue  []*Op
	spare  []*Op
	closed bool

	wake    chan struct{}
	pending chan *Op
	dead    chan struct{}
	once    sync.Once
	err     error
	died    chan<- struct{}
	// onFail runs once when the connection fails, before anything else
	// learns of it, so the server reads as down from that instant.
	onFail func()
}

func newConn(nc net.Conn, timeout time.Duration, maxPending int, died chan<- struct{}) *conn {
	return &conn{
		nc:      nc,
		timeout: timeout,
		r:       bufio.NewReaderSize(nc, 64<<10),
		w:       bufio.NewWriterSize(nc, 64<<10),
		wake:    make(chan struct{}, 1),
		pending: make(chan *Op, maxPending),
		dead:    make(chan struct{}),
		died:    died,
	}
}

// enqueue hands op to the writer; false when the connection is closed.
func (c *conn) enqueue(op *Op) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.queue = append(c.queue, op)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

func (c *conn) fail(err error) {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.err = err
		c.mu.Unlock()
		if c.onFail != nil {
			c.onFail()
		}
		close(c.dead)
		_ = c.nc.Close()
		select {
		case c.died <- struct{}{}:
		default:
		}
	})
}

// drain fails every op still owned by the connection; call only after the
// reader and writer have exited.
func (c *conn) drain() {
	c.mu.Lock()
	q := c.queue
	c.queue = nil
	c.mu.Unlock()
	for _, op := range q {
		op.finish(ErrServerDown)
	}
	for {
		select {
		case op := <-c.pending:
			op.finish(ErrServerDown)
		default:
			return
		}
	}
}

func (c *conn) writeLoop() {
	for {
		select {
		case <-c.wake:
		case <-c.dead:
			return
		}
		runtime.Gosched()
		c.mu.Lock()
		batch := c.queue
		c.queue = c.spare[:0]
		c.mu.Unlock()
		if err := c.writeBatch(batch); err != nil {
			c.fail(err)
			return
		}
		clear(batch)
		c.spare = batch[:0]
	}
}

func (c *conn) writeBatch(batch []*Op) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
	for i, op := range batch {
		select {
		case c.pending <- op:
		case <-c.dead:
			for _, o := range batch[i:] {
				o.finish(ErrServerDown)
			}
			return fmt.Errorf("write: %w", ErrServerDown)
		}
		if _, err := c.w.Write(op.Req); err != nil {
			// op is already pending: drain fails it after the reader exits.
			for _, o := range batch[i+1:] {
				o.finish(ErrServerDown)
			}
			return fmt.Errorf("write: %w", err)
		}
	}
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

func (c *conn) readLoop() {
	var deadline time.Time
	for {
		var op *Op
		select {
		case op = <-c.pending:
		case <-c.dead:
			return
		}
		// Moving the deadline costs a timer update; refresh it only when a
		// quarter of the timeout has passed, which keeps every reply bounded
		// by at most Timeout and at least 3/4 Timeout.
		if now := time.Now(); deadline.Sub(now) < c.timeout*3/4 {
			deadline = now.Add(c.timeout)
			_ = c.nc.SetReadDeadline(deadline)
		}
		if err := readReply(c.r, op); err != nil {
			op.finish(fmt.Errorf("read reply: %w", err))
			c.fail(err)
			return
		}
		op.finish(nil)
	}
}

var (
	prefixVA   = []byte("VA ")
	prefixSTAT = []byte("STAT ")
)

func readReply(r *bufio.Reader, op *Op) error {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return err
	}
	op.Reply = append(op.Reply[:0], line...)
	op.HeaderLen = len(line)
	switch op.Kind {
	case ReplyMeta:
		if !bytes.HasPrefix(line, prefixVA) {
			return nil
		}
		n, err := vaSize(line)
		if err != nil {
			return err
		}
		start := len(op.Reply)
		op.Reply = slices.Grow(op.Reply, n+2)[:start+n+2]
		_, err = io.ReadFull(r, op.Reply[start:])
		return err
	case ReplyStats:
		for bytes.HasPrefix(line, prefixSTAT) {
			if line, err = r.ReadSlice('\n'); err != nil {
				return err
			}
			op.Reply = append(op.Reply, line...)
		}
	}
	return nil
}

func vaSize(line []byte) (int, error) {
	rest := line[len(prefixVA):]
	n := 0
	i := 0
	for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
		n = n*10 + int(rest[i]-'0')
		if n > 1<<30 {
			break
		}
	}
	if i == 0 || n > 1<<30 {
		return 0, fmt.Errorf("bad VA line %q", line)
	}
	return n, nil
}
