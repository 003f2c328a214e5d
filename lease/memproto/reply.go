package memproto

import "bytes"

// HotMissToken is the lease token of an LVALUE (a lease-get answer) that
// grants no lease: someone else is filling. Real tokens are larger.
const HotMissToken = 1

// MetaReply is the header of a meta command's reply, e.g. "VA 3 f7 c4 X W".
type MetaReply struct {
	// Code is the two-letter status: VA, HD, EN, NF, NS, EX, MN, ME.
	Code string
	// Size is the value length for VA.
	Size  int
	Flags uint32
	Cas   uint64
	// TTL is the t flag's remaining lifetime in seconds (-1: never
	// expires); 0 when t was not asked for.
	TTL int64
	// Win (W): the caller holds the lease and should fill. Stale (X): the
	// item was invalidated with md I. Other (Z): someone else holds the lease.
	Win, Stale, Other bool
}

var metaCodes = []string{"VA", "HD", "EN", "NF", "NS", "EX", "MN", "ME"}

// ParseMetaReply parses a reply line without its \r\n. ok is false when the
// line is not a meta reply (for example SERVER_ERROR).
func ParseMetaReply(line []byte) (m MetaReply, ok bool) {
	var toks [24][]byte
	t := tokenize(line, toks[:0])
	if len(t) == 0 || len(t[0]) != 2 {
		return m, false
	}
	for _, c := range metaCodes {
		if string(t[0]) == c {
			m.Code = c
		}
	}
	if m.Code == "" {
		return m, false
	}
	t = t[1:]
	if m.Code == "VA" {
		if len(t) == 0 {
			return m, false
		}
		n, ok := parseInt(t[0])
		if !ok || n < 0 {
			return m, false
		}
		m.Size = int(n)
		t = t[1:]
	}
	for _, f := range t {
		switch f[0] {
		case 'f':
			v, _ := parseUint(f[1:])
			m.Flags = uint32(v)
		case 'c':
			m.Cas, _ = parseUint(f[1:])
		case 't':
			m.TTL, _ = parseInt(f[1:])
		case 's':
			// The s flag: the value's size, also on an HD (mg without v).
			if n, ok := parseInt(f[1:]); ok && n >= 0 {
				m.Size = int(n)
			}
		case 'W':
			m.Win = true
		case 'X':
			m.Stale = true
		case 'Z':
			m.Other = true
		}
	}
	return m, true
}

// IsErrorReply reports whether line is ERROR, CLIENT_ERROR … or SERVER_ERROR ….
func IsErrorReply(line []byte) bool {
	return bytes.Equal(line, []byte("ERROR")) ||
		bytes.HasPrefix(line, []byte("CLIENT_ERROR")) ||
		bytes.HasPrefix(line, []byte("SERVER_ERROR"))
}

// Placeholder reports whether a VA reply is memcached's empty lease
// placeholder (created by mg … N, or left by a won lease): a fill is in
// flight and there is nothing to serve.
func (m MetaReply) Placeholder() bool { return (m.Win || m.Other) && m.Size == 0 }

// AbsentToClassic reports whether a found item is one a classic client
// must see as absent: an empty placeholder, or a stale (invalidated) item.
// A classic get misses on it, and every other classic command answers what
// memcached answers for an absent key.
func (m MetaReply) AbsentToClassic() bool { return m.Stale || m.Placeholder() }

// AppendHandBack appends the request that returns a lease a meta get won by
// accident: memcached 1.6.18 hands a stale item's lease (W) to the first mg
// whatever its flags, so a reader that will never fill (a classic get, an
// audit) must give it back or the real filler waits out the lease. md I with
// the CAS the mg returned clears the win and keeps the item stale; if an
// invalidation or a fill came first (EX/NF), the win is cleared already.
func AppendHandBack(b []byte, key string, cas uint64) []byte {
	b = append(b, "md "...)
	b = append(b, key...)
	b = append(b, " I C"...)
	b = AppendUint(b, cas)
	return append(b, "\r\n"...)
}
