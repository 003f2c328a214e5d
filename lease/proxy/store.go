package proxy

import (
	"bytes"
	"time"

	"github.com/cachesync/cachesync/lease/backend"
	"github.com/cachesync/cachesync/lease/memproto"
)

// addTries bounds how often add starts over when the item it found
// changes under it.
const addTries = 3

var (
	notStoredReply = []byte("NOT_STORED\r\n")
	existsReply    = []byte("EXISTS\r\n")
)

// store serves set and add. With a remembered lease for the key (its
// classic get missed through this proxy), the store is that lease's
// lease-set: stored only while no invalidation, delete or other write has
// come since the get. Without one, set is a plain set and add stores over
// what a classic client sees as absent.
func (c *client) store(req *memproto.Request) {
	c.s.ctr.cmdSet.Add(1)
	if c.s.book != nil {
		if tok, ok := c.s.book.take(req.Keys[0], time.Now()); ok {
			if cas, srv, ok := c.leaseToken(tok); ok {
				if c.storeIfCas(req, srv, cas) == storeRefused {
					c.s.ctr.classicSetsRejected.Add(1)
				}
				return
			}
		}
	}
	if req.Cmd == memproto.CmdAdd {
		c.add(req)
		return
	}
	c.forward(req)
}

// storeOutcome is what a compare-and-store did.
type storeOutcome uint8

const (
	storeDone storeOutcome = iota
	// storeRefused: the CAS no longer matched (NOT_STORED was answered).
	storeRefused
	// storeOther: an error line or a down server, answered as such.
	storeOther
)

// storeIfCas stores req's value on server srv only if the key's CAS is
// still cas ("ms <k> <n> C<cas> F<flags> T<exptime>": any invalidation,
// delete or write since bumps it) and answers STORED or NOT_STORED.
func (c *client) storeIfCas(req *memproto.Request, srv int, cas uint64) storeOutcome {
	op, out := c.casStore(req, srv, cas)
	switch out {
	case storeDone:
		c.reply(req, "STORED")
	case storeRefused:
		c.reply(req, "NOT_STORED")
	default:
		if op == nil {
			c.reply(req, replyBackendDown)
		} else if !req.Noreply {
			_, _ = c.w.Write(op.Reply)
		}
	}
	return out
}

// casStore sends the compare-and-store and tells its outcome without
// answering; the op is nil when the server failed (counted).
func (c *client) casStore(req *memproto.Request, srv int, cas uint64) (*backend.Op, storeOutcome) {
	exptime := req.Tokens[3]
	if req.Cmd == memproto.CmdLeaseSet {
		exptime = req.Tokens[4]
	}
	op := c.op(0)
	op.Kind = backend.ReplyMeta
	b := append(op.Req[:0], "ms "...)
	b = append(b, req.Keys[0]...)
	b = append(b, ' ')
	b = memproto.AppendUint(b, uint64(len(req.Data)))
	b = append(b, " C"...)
	b = memproto.AppendUint(b, cas)
	b = append(b, " F"...)
	b = memproto.AppendUint(b, uint64(req.Flags))
	b = append(b, " T"...)
	if c.s.route.IsGutter(srv) {
		b = c.s.appendGutterExptime(b, exptime)
	} else {
		b = append(b, exptime...)
	}
	b = append(b, "\r\n"...)
	b = append(b, req.Data...)
	op.Req = append(b, "\r\n"...)
	c.s.pool.Do(srv, op)
	if op.Wait() != nil {
		c.backendError()
		return nil, storeOther
	}
	m, ok := memproto.ParseMetaReply(op.Header())
	switch {
	case ok && m.Code == "HD":
		return op, storeDone
	case ok:
		return op, storeRefused // NS, EX, NF
	}
	return op, storeOther
}

// add is a classic add that stores over a placeholder or a stale item, as
// memcached would over an absent key: when memcached refuses, it looks at
// the item, and if a classic client cannot see it, stores over exactly
// that item (its CAS), starting over if it changed meanwhile.
func (c *client) add(req *memproto.Request) {
	key := req.Keys[0]
	srv := c.pick(key)
	for range addTries {
		if !c.sendUnlessAnswer(req, srv, notStoredReply) {
			return
		}
		m, found, ok := c.probe(key, srv)
		if !ok {
			c.backendDown(req.Noreply)
			return
		}
		if !found {
			continue // gone since: add again
		}
		if !m.AbsentToClassic() {
			c.reply(req, "NOT_STORED")
			return
		}
		op, out := c.casStore(req, srv, m.Cas)
		switch {
		case out == storeDone:
			c.reply(req, "STORED")
			return
		case op == nil:
			c.backendDown(req.Noreply)
			return
		case out == storeOther:
			c.relay(req, op)
			return
		}
	}
	c.reply(req, "NOT_STORED")
}

// unlessAbsent serves replace, append, prepend, incr, decr, touch and
// delete: on an item a classic client cannot see (placeholder, stale) they
// answer what memcached answers for an absent key (absent) and change
// nothing, except delete, which still deletes it: a delete is an
// invalidation, and must void the lease.
func (c *client) unlessAbsent(req *memproto.Request, absent string) {
	key := req.Keys[0]
	srv := c.pick(key)
	m, found, ok := c.probe(key, srv)
	if !ok {
		c.backendDown(req.Noreply)
		return
	}
	if !found || !m.AbsentToClassic() {
		c.forwardTo(req, srv)
		return
	}
	switch {
	case req.Cmd == memproto.CmdDelete:
		if c.send(req, srv) == nil {
			c.backendDown(req.Noreply)
			return
		}
	case m.Win:
		// The look took a stale item's lease: give it to a real filler.
		c.handBack(key, srv, m.Cas, 0)
	}
	c.reply(req, absent)
}

// cas is a classic cas; on a placeholder or stale item, which a classic
// client cannot see, it answers NOT_FOUND as memcached does for an absent
// key, not EXISTS.
func (c *client) cas(req *memproto.Request) {
	c.s.ctr.cmdSet.Add(1)
	key := req.Keys[0]
	srv := c.pick(key)
	if !c.sendUnlessAnswer(req, srv, existsReply) {
		return
	}
	m, found, ok := c.probe(key, srv)
	if !ok || !found || !m.AbsentToClassic() {
		c.reply(req, "EXISTS")
		return
	}
	if m.Win {
		c.handBack(key, srv, m.Cas, 0)
	}
	c.reply(req, "NOT_FOUND")
}

// sendUnlessAnswer sends req to server srv and, unless memcached answers
// exactly answer, passes its reply (or the server's failure) on and
// returns false; true leaves the client unanswered for the caller to
// decide.
func (c *client) sendUnlessAnswer(req *memproto.Request, srv int, answer []byte) bool {
	op := c.send(req, srv)
	if op == nil {
		c.backendDown(req.Noreply)
		return false
	}
	if !bytes.Equal(op.Reply, answer) {
		c.relay(req, op)
		return false
	}
	return true
}

// probe looks at key without changing it or taking a placeholder's lease:
// "mg <k> s c" (size, CAS and the lease and stale flags). It can take a
// stale item's lease, which the caller uses or hands back. found is false
// for a miss or a reply that is no meta reply; ok is false when the server
// failed (counted).
func (c *client) probe(key []byte, srv int) (m memproto.MetaReply, found, ok bool) {
	op := c.op(0)
	op.Kind = backend.ReplyMeta
	b := append(op.Req[:0], "mg "...)
	b = append(b, key...)
	op.Req = append(b, " s c\r\n"...)
	c.s.pool.Do(srv, op)
	if op.Wait() != nil {
		c.backendError()
		return m, false, false
	}
	m, isMeta := memproto.ParseMetaReply(op.Header())
	return m, isMeta && (m.Code == "HD" || m.Code == "VA"), true
}
