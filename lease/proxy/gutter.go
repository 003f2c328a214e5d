package proxy

import (
	"strconv"
	"time"

	"github.com/cachesync/cachesync/lease/memproto"
)

// maxRelativeExptime is memcached's bound on relative exptimes: a larger
// one is an absolute unix time.
const maxRelativeExptime = 60 * 60 * 24 * 30

// gutterExptime is the exptime a write to the gutter carries: the client's
// when the item expires within ttl seconds anyway, else ttl. A gutter
// server holds keys whose owner is out, and nobody invalidates a copy the
// sidecar did not know of, so every copy must die young.
func gutterExptime(e, ttl, now int64) int64 {
	switch {
	case e < 0: // already expired
		return e
	case e == 0:
		return ttl
	case e <= maxRelativeExptime:
		return min(e, ttl)
	case e-now <= ttl:
		return e
	}
	return ttl
}

// appendGutterExptime appends the exptime token tok, capped for the gutter.
// A token memcached would refuse is passed on for it to answer.
func (s *Server) appendGutterExptime(b, tok []byte) []byte {
	e, err := strconv.ParseInt(string(tok), 10, 64)
	if err != nil {
		return append(b, tok...)
	}
	return strconv.AppendInt(b, gutterExptime(e, s.gutterSecs, time.Now().Unix()), 10)
}

// exptimeToken is the index of the exptime among a classic command's
// tokens, or -1 when it has none.
func exptimeToken(cmd memproto.Command) int {
	switch {
	case cmd.IsStorage(): // <cmd> <key> <flags> <exptime> <bytes> ...
		return 3
	case cmd == memproto.CmdTouch: // touch <key> <exptime>
		return 2
	}
	return -1
}

// appendGutterTokens is appendTokens with toks[exptime] capped for the
// gutter.
func (s *Server) appendGutterTokens(b []byte, toks [][]byte, exptime int) []byte {
	for i, t := range toks {
		if i > 0 {
			b = append(b, ' ')
		}
		if i == exptime {
			b = s.appendGutterExptime(b, t)
			continue
		}
		b = append(b, t...)
	}
	return append(b, "\r\n"...)
}

// appendGutterMetaFlag appends a meta flag, with the TTL of T (the item's)
// and N (a vivified item's) capped for the gutter.
func (s *Server) appendGutterMetaFlag(b, flag []byte) []byte {
	if len(flag) > 1 && (flag[0] == 'T' || flag[0] == 'N') {
		return s.appendGutterExptime(append(b, flag[0]), flag[1:])
	}
	return append(b, flag...)
}

// leaseTTLFor is the lease placeholder TTL on server srv: LeaseTTL, capped
// in the gutter.
func (s *Server) leaseTTLFor(srv int) uint64 {
	ttl := uint64(max(1, s.cfg.LeaseTTL/time.Second))
	if s.route.IsGutter(srv) {
		ttl = min(ttl, uint64(s.gutterSecs))
	}
	return ttl
}
