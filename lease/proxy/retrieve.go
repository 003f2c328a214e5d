package proxy

import (
	"bytes"
	"time"

	"github.com/cachesync/cachesync/lease/backend"
	"github.com/cachesync/cachesync/lease/memproto"
)

// keyState is what a classic get decided for one of its keys.
type keyState uint8

const (
	keyMiss keyState = iota
	keyHit
	// keyWon: a miss whose lease this get took (transparent leases).
	keyWon
	// keyWait: someone else holds the key's lease; wait for the fill.
	keyWait
	// keyHot: waited HotMissWait in vain, a miss.
	keyHot
	// keyStale: waited in vain, and the stale value is served
	// (ClassicStale).
	keyStale
)

// retrieve serves get/gets/gat/gats as one meta get per key, all sent
// before any is awaited so keys on different servers are fetched in
// parallel. Meta gets expose the stale and lease flags a classic get hides.
// With transparent leases a miss takes the key's lease (N<ttl>) and the
// book remembers it, and a key someone else is filling is asked again
// until HotMissWait.
func (c *client) retrieve(req *memproto.Request) {
	touch := req.Cmd == memproto.CmdGat || req.Cmd == memproto.CmdGats
	withCas := req.Cmd == memproto.CmdGets || req.Cmd == memproto.CmdGats
	keys := req.Keys
	n := len(keys)
	c.s.ctr.cmdGet.Add(uint64(n))
	servers := c.servers(n)
	states := c.keyStates(n)
	for i, k := range keys {
		servers[i] = c.pick(k)
		c.metaGet(i, k, servers[i])
	}
	if !c.waitOps(states, keyMiss) {
		c.backendDown(false)
		return
	}
	now := time.Now()
	waiting := false
	for i := range keys {
		st, ok := c.classify(keys, i, servers[i], states, now)
		if !ok {
			// An error from memcached replaces the whole reply, as it
			// would for a classic get.
			_, _ = c.w.Write(c.ops[i].Reply)
			return
		}
		states[i] = st
		waiting = waiting || st == keyWait
	}
	if waiting && !c.awaitFills(keys, servers, states) {
		c.backendDown(false)
		return
	}
	if touch && !c.touchHits(req, servers, states) {
		c.backendDown(false)
		return
	}
	for i, k := range keys {
		switch states[i] {
		case keyHit, keyStale:
			if states[i] == keyStale {
				c.s.ctr.hotMisses.Add(1)
				c.s.ctr.staleServed.Add(1)
			}
			c.s.ctr.hits.Add(1)
			m, _ := memproto.ParseMetaReply(c.ops[i].Header())
			c.value(k, m, withCas, c.ops[i])
		case keyHot:
			c.s.ctr.hotMisses.Add(1)
			c.s.ctr.misses.Add(1)
		default:
			c.s.ctr.misses.Add(1)
		}
	}
	_, _ = c.w.WriteString("END\r\n")
}

// metaGet sends key's meta get in op i: "mg <k> v f c", with N<ttl> for
// transparent leases (a miss creates the placeholder and wins its lease).
// gat's touch is not part of it: T would also extend a placeholder's lease.
func (c *client) metaGet(i int, key []byte, srv int) {
	op := c.op(i)
	op.Kind = backend.ReplyMeta
	b := append(op.Req[:0], "mg "...)
	b = append(b, key...)
	b = append(b, " v f c"...)
	if c.s.book != nil {
		b = append(b, " N"...)
		b = memproto.AppendUint(b, c.s.leaseTTLFor(srv))
	}
	op.Req = append(b, "\r\n"...)
	c.s.pool.Do(srv, op)
}

// waitOps waits for the ops of the keys in state st; false if any failed.
func (c *client) waitOps(states []keyState, st keyState) bool {
	ok := true
	for i, s := range states {
		if s == st && c.ops[i].Wait() != nil {
			ok = false
		}
	}
	return ok
}

// classify decides key i from its meta get's reply; ok is false for an
// error reply.
func (c *client) classify(keys [][]byte, i, srv int, states []keyState, now time.Time) (keyState, bool) {
	m, ok := memproto.ParseMetaReply(c.ops[i].Header())
	switch {
	case !ok:
		return keyMiss, false
	case m.Code != "VA":
		return keyMiss, true
	case m.Win && c.s.book != nil:
		// Ours to fill: the client's set will be this lease's lease-set.
		c.s.book.put(keys[i], encodeToken(m.Cas, srv), now)
		c.s.ctr.leases.Add(1)
		c.s.ctr.classicLeases.Add(1)
		return keyWon, true
	case m.Win:
		// Taken by accident (a stale item's lease goes to the first mg):
		// a classic reader will never fill, so give it back.
		c.handBack(keys[i], srv, m.Cas, len(keys))
		return keyMiss, true
	case m.Other && c.s.book != nil && !wonEarlier(keys, i, states):
		return keyWait, true
	case m.AbsentToClassic():
		return keyMiss, true
	}
	return keyHit, true
}

// wonEarlier reports whether an earlier key of the same get is key i and
// took its lease: "get a a" must not wait for its own fill.
func wonEarlier(keys [][]byte, i int, states []keyState) bool {
	for j := range i {
		if states[j] == keyWon && bytes.Equal(keys[j], keys[i]) {
			return true
		}
	}
	return false
}

// awaitFills asks again for the keys someone else is filling, backing off
// from 1 ms to 10 ms, until each is filled, its lease comes to this get
// (released or expired), or HotMissWait has passed; false if a server
// failed meanwhile.
func (c *client) awaitFills(keys [][]byte, servers []int, states []keyState) bool {
	deadline := time.Now().Add(c.s.cfg.HotMissWait)
	backoff := time.Millisecond
	for {
		rest := time.Until(deadline)
		if rest <= 0 {
			break
		}
		time.Sleep(min(backoff, rest))
		backoff = min(2*backoff, 10*time.Millisecond)
		for i, k := range keys {
			if states[i] == keyWait {
				c.metaGet(i, k, servers[i])
			}
		}
		if !c.waitOps(states, keyWait) {
			return false
		}
		now := time.Now()
		waiting := false
		for i := range keys {
			if states[i] != keyWait {
				continue
			}
			st, ok := c.classify(keys, i, servers[i], states, now)
			if !ok {
				st = keyMiss
			}
			states[i] = st
			waiting = waiting || st == keyWait
		}
		if !waiting {
			return true
		}
	}
	for i := range keys {
		if states[i] != keyWait {
			continue
		}
		states[i] = keyHot
		if c.s.cfg.ClassicStale {
			if m, _ := memproto.ParseMetaReply(c.ops[i].Header()); m.Stale && m.Size > 0 {
				states[i] = keyStale
			}
		}
	}
	return true
}

// touchHits sets gat's new exptime on the keys it found, with classic
// touch: a meta get's T would also extend a placeholder's lease, and its
// first look at an item invalidated meanwhile would take that lease.
func (c *client) touchHits(req *memproto.Request, servers []int, states []keyState) bool {
	n := len(req.Keys)
	sent := 0
	for i, k := range req.Keys {
		if states[i] != keyHit && states[i] != keyStale {
			continue
		}
		op := c.op(n + sent)
		op.Kind = backend.ReplyLine
		b := append(op.Req[:0], "touch "...)
		b = append(b, k...)
		b = append(b, ' ')
		if c.s.route.IsGutter(servers[i]) {
			b = c.s.appendGutterExptime(b, req.Tokens[1])
		} else {
			b = append(b, req.Tokens[1]...)
		}
		op.Req = append(b, "\r\n"...)
		c.s.pool.Do(servers[i], op)
		sent++
	}
	ok := true
	for j := range sent {
		if c.ops[n+j].Wait() != nil {
			ok = false
		}
	}
	return ok
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

// keyStates returns a scratch slice of n key states, all keyMiss.
func (c *client) keyStates(n int) []keyState {
	if cap(c.states) < n {
		c.states = make([]keyState, n)
	}
	s := c.states[:n]
	clear(s)
	return s
}
