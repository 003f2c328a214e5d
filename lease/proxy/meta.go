package proxy

import (
	"bytes"
	"encoding/base64"

	"github.com/cachesync/cachesync/lease/backend"
	"github.com/cachesync/cachesync/lease/memproto"
)

// meta passes a meta command to the key's server. The q flag is stripped and
// emulated here: with it memcached sends no reply for some outcomes, which
// would make matching pipelined replies to requests impossible.
func (c *client) meta(req *memproto.Request) {
	c.s.ctr.cmdMeta.Add(1)
	key := req.Keys[0]
	route := key
	if memproto.MetaBase64(req) {
		n := base64.StdEncoding.DecodedLen(len(key))
		if cap(c.keyBuf) < n {
			c.keyBuf = make([]byte, n)
		}
		if m, err := base64.StdEncoding.Decode(c.keyBuf[:n], key); err == nil {
			route = c.keyBuf[:m]
		}
	}
	op := c.op(0)
	op.Kind = backend.ReplyMeta
	srv := c.pick(route)
	gutter := c.s.route.IsGutter(srv)
	// Flags follow the key, and ms's data length.
	flagsFrom, hasTTL := 2, false
	if req.Cmd == memproto.CmdMetaSet {
		flagsFrom = 3
	}
	b := op.Req[:0]
	for i, t := range req.Tokens {
		if len(t) == 1 && t[0] == 'q' && i >= 2 {
			continue
		}
		if i > 0 {
			b = append(b, ' ')
		}
		if gutter && i >= flagsFrom {
			hasTTL = hasTTL || t[0] == 'T'
			b = c.s.appendGutterMetaFlag(b, t)
			continue
		}
		b = append(b, t...)
	}
	if gutter && req.Cmd == memproto.CmdMetaSet && !hasTTL {
		// Without T an ms stores forever.
		b = memproto.AppendUint(append(b, " T"...), uint64(c.s.gutterSecs))
	}
	b = append(b, "\r\n"...)
	if req.Cmd == memproto.CmdMetaSet {
		b = append(b, req.Data...)
		b = append(b, "\r\n"...)
	}
	op.Req = b
	c.s.pool.Do(srv, op)
	if op.Wait() != nil {
		c.backendDown(false)
		return
	}
	if req.Noreply && quietSuppressed(req.Cmd, op.Header()) {
		return
	}
	_, _ = c.w.Write(op.Reply)
}

// quietSuppressed reports whether memcached 1.6.18 would have sent nothing
// for this reply under q: EN for mg (a hit's HD is still sent); HD for md
// and ms; HD and VA (success, with or without the value) for ma. NF, NS,
// EX and errors are always sent.
func quietSuppressed(cmd memproto.Command, h []byte) bool {
	code := h
	if i := bytes.IndexByte(h, ' '); i >= 0 {
		code = h[:i]
	}
	switch cmd {
	case memproto.CmdMetaGet:
		return string(code) == "EN"
	case memproto.CmdMetaArith:
		return string(code) == "HD" || string(code) == "VA"
	}
	return string(code) == "HD"
}
