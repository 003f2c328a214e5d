package proxy

import (
	"github.com/cachesync/cachesync/lease/backend"
	"github.com/cachesync/cachesync/lease/memproto"
)

// retrieve serves get/gets/gat/gats as one meta get per key, all sent
// before any is awaited so keys on different servers are fetched in
// parallel. Meta gets expose the stale and lease flags a classic get hides.
func (c *client) retrieve(req *memproto.Request) {
	touch := req.Cmd == memproto.CmdGat || req.Cmd == memproto.CmdGats
	withCas := req.Cmd == memproto.CmdGets || req.Cmd == memproto.CmdGats
	n := len(req.Keys)
	c.s.ctr.cmdGet.Add(uint64(n))
	servers := c.servers(n)
	for i, k := range req.Keys {
		op := c.op(i)
		op.Kind = backend.ReplyMeta
		servers[i] = c.pick(k)
		b := append(op.Req[:0], "mg "...)
		b = append(b, k...)
		b = append(b, " v f c"...)
		switch {
		case touch && c.s.route.IsGutter(servers[i]):
			b = c.s.appendGutterExptime(append(b, " T"...), req.Tokens[1])
		case touch:
			b = append(b, " T"...)
			b = append(b, req.Tokens[1]...)
		}
		op.Req = append(b, "\r\n"...)
		c.s.pool.Do(servers[i], op)
	}
	failed := false
	for i := range n {
		if c.ops[i].Wait() != nil {
			failed = true
		}
	}
	if failed {
		c.backendDown(false)
		return
	}
	for i, k := range req.Keys {
		op := c.ops[i]
		m, ok := memproto.ParseMetaReply(op.Header())
		if !ok {
			// An error from memcached replaces the whole reply, as it would
			// for a classic get.
			_, _ = c.w.Write(op.Reply)
			return
		}
		if m.Code != "VA" {
			c.s.ctr.misses.Add(1)
			continue
		}
		if m.Win {
			c.handBack(k, servers[i], m.Cas, n)
		}
		if m.Stale || m.Placeholder() {
			c.s.ctr.misses.Add(1)
			continue
		}
		c.s.ctr.hits.Add(1)
		c.value(k, m, withCas, op)
	}
	_, _ = c.w.WriteString("END\r\n")
}

// value writes a hit as a classic reply: "VALUE <key> <flags> <bytes>
// [<cas>]" and the data op fetched.
func (c *client) value(key []byte, m memproto.MetaReply, withCas bool, op *backend.Op) {
	b := append(c.scratch[:0], "VALUE "...)
	b = append(b, key...)
	b = append(b, ' ')
	b = memproto.AppendUint(b, uint64(m.Flags))
	b = append(b, ' ')
	b = memproto.AppendUint(b, uint64(m.Size))
	if withCas {
		b = append(b, ' ')
		b = memproto.AppendUint(b, m.Cas)
	}
	c.scratch = append(b, "\r\n"...)
	_, _ = c.w.Write(c.scratch)
	_, _ = c.w.Write(op.Reply[op.HeaderLen:])
}

// handBack returns the lease cas holds on key (see memproto.AppendHandBack):
// one a classic get took by accident, as a classic reader will never fill,
// or one lease-release gives back. It returns the answered op, or nil after
// counting a backend error. md never answers VA, so ReplyMeta framing reads
// exactly its one line.
func (c *client) handBack(key []byte, server int, cas uint64, slot int) *backend.Op {
	op := c.op(slot)
	op.Kind = backend.ReplyMeta
	op.Req = memproto.AppendHandBack(op.Req[:0], string(key), cas)
	c.s.pool.Do(server, op)
	if op.Wait() != nil {
		c.backendError()
		return nil
	}
	return op
}

// servers returns a scratch slice of n server indexes.
func (c *client) servers(n int) []int {
	if cap(c.serverIdx) < n {
		c.serverIdx = make([]int, n)
	}
	return c.serverIdx[:n]
}
