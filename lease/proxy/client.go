package proxy

import (
	"bufio"
	"net"
	"time"
	"unsafe"

	"github.com/cachesync/cachesync/lease/backend"
	"github.com/cachesync/cachesync/lease/memproto"
	"github.com/cachesync/cachesync/lease/sockio"
)

// opsKept bounds the Ops a connection keeps between requests; a huge
// multi-get may use more, and they are dropped afterwards.
const opsKept = 64

// client serves one client connection: one request at a time, replies
// buffered and flushed when the client's pipeline is drained.
type client struct {
	s         *Server
	nc        net.Conn
	p         *memproto.Parser
	w         *bufio.Writer
	ops       []*backend.Op
	scratch   []byte
	serverIdx []int
	states    []keyState
	keyBuf    []byte
}

func newClient(s *Server, nc net.Conn) *client {
	nc = sockio.Wrap(nc)
	return &client{
		s:  s,
		nc: nc,
		p:  memproto.NewParser(nc, memproto.Config{MaxItemSize: s.cfg.MaxItemSize}),
		w:  bufio.NewWriterSize(nc, 16<<10),
	}
}

func (c *client) serve() {
	for {
		if c.p.Buffered() == 0 {
			if c.w.Flush() != nil {
				return
			}
			if c.s.cfg.IdleTimeout > 0 {
				_ = c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
			}
		}
		req, err := c.p.Next()
		if err != nil {
			// The parser returns its *ProtocolError unwrapped; a type
			// assertion, unlike errors.As, does not move pe to the heap.
			if pe, ok := err.(*memproto.ProtocolError); ok {
				if pe.TooLarge && pe.Cmd == memproto.CmdSet {
					c.unlink(pe.Key)
				}
				if !pe.Noreply {
					c.line(pe.Reply)
				}
				continue
			}
			if err == memproto.ErrBinaryProtocol {
				c.s.binary.refuse(c.nc.RemoteAddr())
			}
			_ = c.w.Flush()
			return
		}
		if c.handle(req) {
			_ = c.w.Flush()
			return
		}
		if len(c.ops) > opsKept {
			clear(c.ops[opsKept:])
			c.ops = c.ops[:opsKept]
		}
	}
}

// handle serves one request; true means close the connection.
func (c *client) handle(req *memproto.Request) bool {
	switch req.Cmd {
	case memproto.CmdGet, memproto.CmdGets, memproto.CmdGat, memproto.CmdGats:
		c.retrieve(req)
	case memproto.CmdSet, memproto.CmdAdd:
		c.store(req)
	case memproto.CmdCas:
		c.cas(req)
	case memproto.CmdReplace, memproto.CmdAppend, memproto.CmdPrepend:
		c.s.ctr.cmdSet.Add(1)
		c.unlessAbsent(req, "NOT_STORED")
	case memproto.CmdDelete, memproto.CmdIncr, memproto.CmdDecr, memproto.CmdTouch:
		c.unlessAbsent(req, "NOT_FOUND")
	case memproto.CmdLeaseGet:
		c.leaseGet(req)
	case memproto.CmdLeaseSet:
		c.leaseSet(req)
	case memproto.CmdLeaseRelease:
		c.leaseRelease(req)
	case memproto.CmdMetaNoop:
		c.line("MN")
	case memproto.CmdMetaGet, memproto.CmdMetaSet, memproto.CmdMetaDelete,
		memproto.CmdMetaArith, memproto.CmdMetaDebug:
		c.meta(req)
	case memproto.CmdVersion:
		c.line("VERSION 1.6.18")
	case memproto.CmdVerbosity:
		c.reply(req, "OK")
	case memproto.CmdStats:
		c.stats(req)
	case memproto.CmdFlushAll:
		c.flushAll(req)
	case memproto.CmdQuit:
		return true
	default:
		c.line(memproto.ReplyError)
	}
	return false
}

func (c *client) op(i int) *backend.Op {
	for len(c.ops) <= i {
		c.ops = append(c.ops, backend.NewOp())
	}
	return c.ops[i]
}

// pick routes a key to its pool server, or to the gutter while that server
// is out (lease/route); gutter indexes follow the pool's. The unsafe string
// avoids an allocation per request; Route never retains the key.
func (c *client) pick(key []byte) int {
	if len(key) == 0 {
		return 0
	}
	srv, gutter := c.s.route.Route(unsafe.String(&key[0], len(key)))
	if gutter {
		c.s.ctr.gutterKeys.Add(1)
	}
	return srv
}

func (c *client) line(s string) {
	_, _ = c.w.WriteString(s)
	_, _ = c.w.WriteString("\r\n")
}

const replyBackendDown = "SERVER_ERROR backend unavailable"

// reply writes the line s unless req asked for no reply.
func (c *client) reply(req *memproto.Request, s string) {
	if !req.Noreply {
		c.line(s)
	}
}

// backendError counts a request a backend failed.
func (c *client) backendError() {
	c.s.ctr.backendErrors.Add(1)
}

// backendDown counts a backend failure and answers it unless noreply.
func (c *client) backendDown(noreply bool) {
	c.backendError()
	if !noreply {
		c.line(replyBackendDown)
	}
}

// appendTokens appends toks joined by spaces and a final \r\n.
func appendTokens(b []byte, toks [][]byte) []byte {
	for i, t := range toks {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, t...)
	}
	return append(b, "\r\n"...)
}

// forward sends a classic single-reply command to the key's server and
// relays the reply.
func (c *client) forward(req *memproto.Request) {
	c.forwardTo(req, c.pick(req.Keys[0]))
}

// forwardTo is forward to server srv.
func (c *client) forwardTo(req *memproto.Request, srv int) {
	op := c.send(req, srv)
	if op == nil {
		c.backendDown(req.Noreply)
		return
	}
	c.relay(req, op)
}

// send passes a classic single-reply command to server srv with noreply
// removed (so every request has exactly one reply to match) and returns
// the answered op, or nil when the server failed.
func (c *client) send(req *memproto.Request, srv int) *backend.Op {
	toks := req.Tokens
	if req.Noreply {
		toks = toks[:len(toks)-1]
	}
	if req.Cmd == memproto.CmdDelete {
		toks = toks[:2] // drop the legacy "0" hold time
	}
	op := c.op(0)
	op.Kind = backend.ReplyLine
	var b []byte
	if c.s.route.IsGutter(srv) {
		b = c.s.appendGutterTokens(op.Req[:0], toks, exptimeToken(req.Cmd))
	} else {
		b = appendTokens(op.Req[:0], toks)
	}
	if req.Cmd.IsStorage() {
		b = append(b, req.Data...)
		b = append(b, "\r\n"...)
	}
	op.Req = b
	c.s.pool.Do(srv, op)
	if op.Wait() != nil {
		return nil
	}
	return op
}

// relay writes op's reply unless the client asked for none.
func (c *client) relay(req *memproto.Request, op *backend.Op) {
	if !req.Noreply {
		_, _ = c.w.Write(op.Reply)
	}
}

// unlink deletes key after a set too large to store, like memcached does, so
// the previous value does not survive a failed overwrite.
func (c *client) unlink(key []byte) {
	op := c.op(0)
	op.Kind = backend.ReplyLine
	b := append(op.Req[:0], "delete "...)
	b = append(b, key...)
	op.Req = append(b, "\r\n"...)
	c.s.pool.Do(c.pick(key), op)
	if op.Wait() != nil {
		c.backendError()
	}
}
