package proxy

import (
	"time"

	"github.com/cachesync/cachesync/lease/backend"
	"github.com/cachesync/cachesync/lease/memproto"
)

// leaseGet maps mcrouter's lease-get onto "mg <k> v f c N<ttl>": memcached
// creates the placeholder and elects the winner (W), so one real token is
// issued per miss or invalidation however many proxies ask.
func (c *client) leaseGet(req *memproto.Request) {
	c.s.ctr.cmdLeaseGet.Add(1)
	key := req.Keys[0]
	srv := c.pick(key)
	op := c.op(0)
	op.Kind = backend.ReplyMeta
	b := append(op.Req[:0], "mg "...)
	b = append(b, key...)
	b = append(b, " v f c N"...)
	b = memproto.AppendUint(b, c.s.leaseTTLFor(srv))
	op.Req = append(b, "\r\n"...)

	var deadline time.Time
	backoff := time.Millisecond
	for {
		c.s.pool.Do(srv, op)
		if op.Wait() != nil {
			c.backendDown(false)
			return
		}
		m, ok := memproto.ParseMetaReply(op.Header())
		if !ok || m.Code != "VA" {
			_, _ = c.w.Write(op.Reply)
			return
		}
		switch {
		case m.Win:
			c.s.ctr.misses.Add(1)
			c.s.ctr.leases.Add(1)
			c.lvalue(key, encodeToken(m.Cas, srv), m.Flags, op)
			return
		case m.Placeholder():
			// An empty placeholder (a cold key, or one whose lease was
			// released): someone is filling. Wait briefly on the client's
			// behalf; a hit within HotMissWait saves it a round trip.
			now := time.Now()
			if deadline.IsZero() {
				deadline = now.Add(c.s.cfg.HotMissWait)
			}
			if rest := deadline.Sub(now); rest > 0 {
				time.Sleep(min(backoff, rest))
				backoff = min(2*backoff, 10*time.Millisecond)
				continue
			}
			c.s.ctr.misses.Add(1)
			c.s.ctr.hotMisses.Add(1)
			c.lvalue(key, HotMissToken, 0, nil)
			return
		case m.Other || m.Stale:
			c.s.ctr.misses.Add(1)
			c.s.ctr.hotMisses.Add(1)
			c.s.ctr.staleServed.Add(1)
			c.lvalue(key, HotMissToken, m.Flags, op)
			return
		}
		c.s.ctr.hits.Add(1)
		c.value(key, m, false, op)
		_, _ = c.w.WriteString("END\r\n")
		return
	}
}

// lvalue writes "LVALUE <key> <token> <flags> <bytes>", the data (op's value
// or empty) and END. Only the header goes through scratch: the data block is
// written straight from op's reply, \r\n included.
func (c *client) lvalue(key []byte, token uint64, flags uint32, op *backend.Op) {
	// block is the data and its \r\n, or none without a value (as op.Body).
	var block []byte
	if op != nil && len(op.Reply) >= op.HeaderLen+2 {
		block = op.Reply[op.HeaderLen:]
	}
	b := append(c.scratch[:0], "LVALUE "...)
	b = append(b, key...)
	b = append(b, ' ')
	b = memproto.AppendUint(b, token)
	b = append(b, ' ')
	b = memproto.AppendUint(b, uint64(flags))
	b = append(b, ' ')
	b = memproto.AppendUint(b, uint64(max(len(block)-2, 0)))
	c.scratch = append(b, "\r\n"...)
	_, _ = c.w.Write(c.scratch)
	if len(block) == 0 {
		_, _ = c.w.WriteString("\r\nEND\r\n")
		return
	}
	_, _ = c.w.Write(block)
	_, _ = c.w.WriteString("END\r\n")
}

// leaseSet stores only if the item's CAS is still the one the token was
// issued with: any invalidation (md I), delete or write since bumps it.
func (c *client) leaseSet(req *memproto.Request) {
	c.s.ctr.cmdLeaseSet.Add(1)
	cas, srv, ok := c.leaseToken(req.Cas)
	if !ok {
		c.s.ctr.leaseSetsRejected.Add(1)
		c.reply(req, "NOT_STORED")
		return
	}
	if c.storeIfCas(req, srv, cas) == storeRefused {
		c.s.ctr.leaseSetsRejected.Add(1)
	}
}

// leaseRelease gives a lease back when its holder cannot fill (the database
// failed, the request was cancelled), so the next lease-get wins it at once
// instead of every reader waiting out LeaseTTL. It is the proxy's own
// command, not mcrouter's: "lease-release <key> <token> [noreply]" answers
// RELEASED, or NOT_FOUND when the token no longer holds the lease (an
// invalidation, a write or the lease's expiry came first; nothing changed).
// On memcached it is the hand-back (md I C<cas>): the item stays what it
// was, stale value or empty placeholder, its win flag is cleared, and its
// CAS moves on, so the released token cannot store afterwards.
func (c *client) leaseRelease(req *memproto.Request) {
	cas, srv, ok := c.leaseToken(req.Cas)
	if !ok {
		c.reply(req, "NOT_FOUND")
		return
	}
	op := c.handBack(req.Keys[0], srv, cas, 0) // counts a backend error
	if op == nil {
		c.reply(req, replyBackendDown)
		return
	}
	switch h := op.Header(); {
	case string(h) == "HD":
		c.s.ctr.leasesReleased.Add(1)
		c.reply(req, "RELEASED")
	case string(h) == "NF" || string(h) == "EX":
		c.reply(req, "NOT_FOUND")
	default:
		if !req.Noreply {
			_, _ = c.w.Write(op.Reply)
		}
	}
}
