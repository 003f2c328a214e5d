package memproto

import (
	"bytes"
	"math"
)

var noreplyToken = []byte("noreply")

// valueLen reads a value length as memcached 1.6.18 does: strtol, then
// truncated to 32 bits (safe_strtol stores a long into an int32_t), then
// refused when negative or over INT_MAX - 2 (no room for the \r\n). So
// 4294967295 and 2147483647 are bad command lines, answered at once, and
// 4294967296 is 0.
func valueLen(b []byte) (int, bool) {
	v, ok := parseInt(b)
	n := int32(v)
	if !ok || n < 0 || n > math.MaxInt32-2 {
		return 0, false
	}
	return int(n), true
}

// lastIsNoreply is memcached's set_noreply_maybe: the last token decides,
// whatever the others say.
func lastIsNoreply(t [][]byte) bool {
	return len(t) > 2 && bytes.Equal(t[len(t)-1], noreplyToken)
}

// parseArgs validates the arguments of req like memcached 1.6.18's
// process_command_ascii, whose token counts decide between ERROR and a
// CLIENT_ERROR.
func parseArgs(req *Request) error {
	t := req.Tokens
	n := len(t)
	switch req.Cmd {
	case CmdGet, CmdGets:
		if n < 2 {
			return errUnknown
		}
		return addKeys(req, t[1:])
	case CmdGat, CmdGats:
		if n < 2 {
			return errUnknown
		}
		if _, ok := parseInt(t[1]); !ok {
			return errExptime
		}
		return addKeys(req, t[2:])
	case CmdSet, CmdAdd, CmdReplace, CmdAppend, CmdPrepend:
		if n != 5 && n != 6 {
			return errUnknown
		}
		return parseStorage(req)
	case CmdCas, CmdLeaseSet:
		if n != 6 && n != 7 {
			return errUnknown
		}
		return parseStorage(req)
	case CmdDelete:
		return parseDelete(req)
	case CmdIncr, CmdDecr, CmdLeaseRelease:
		// <cmd> <key> <number> [noreply]; lease-release (cachesync's own)
		// carries a lease token where incr has its delta.
		if n != 3 && n != 4 {
			return errUnknown
		}
		req.Noreply = lastIsNoreply(t)
		if err := addKeys(req, t[1:2]); err != nil {
			return err
		}
		v, ok := parseUint(t[2])
		switch {
		case !ok && req.Cmd == CmdLeaseRelease:
			return errFormat
		case !ok:
			return errDelta
		case req.Cmd == CmdLeaseRelease:
			req.Cas = v
		}
	case CmdTouch:
		if n != 3 && n != 4 {
			return errUnknown
		}
		req.Noreply = lastIsNoreply(t)
		if err := addKeys(req, t[1:2]); err != nil {
			return err
		}
		if _, ok := parseInt(t[2]); !ok {
			return errExptime
		}
	case CmdVerbosity:
		if n != 2 && n != 3 {
			return errUnknown
		}
		req.Noreply = bytes.Equal(t[n-1], noreplyToken)
		if _, ok := parseUint(t[1]); !ok && !req.Noreply {
			return errFormat
		}
	case CmdFlushAll:
		if n > 3 {
			return errUnknown
		}
		req.Noreply = bytes.Equal(t[n-1], noreplyToken)
		if (req.Noreply && n == 3) || (!req.Noreply && n == 2) {
			if _, ok := parseInt(t[1]); !ok {
				return errExptime
			}
		}
	case CmdLeaseGet:
		if n != 2 {
			return errUnknown
		}
		return addKeys(req, t[1:])
	case CmdMetaGet, CmdMetaDelete, CmdMetaArith, CmdMetaDebug, CmdMetaSet:
		return parseMeta(req)
	}
	return nil
}

func addKeys(req *Request, keys [][]byte) error {
	for _, k := range keys {
		if !ValidKey(k) {
			return errFormat
		}
	}
	req.Keys = append(req.Keys, keys...)
	return nil
}

// parseStorage handles "<cmd> <key> <flags> <exptime> <bytes> [cas] [noreply]".
func parseStorage(req *Request) error {
	t := req.Tokens
	isCas := req.Cmd == CmdCas || req.Cmd == CmdLeaseSet
	req.Noreply = lastIsNoreply(t)
	if !ValidKey(t[1]) {
		return errFormat
	}
	req.Keys = append(req.Keys, t[1])
	// lease-set puts the token before the flags: lease-set k token flags exp bytes.
	flagsAt, expAt, bytesAt, casAt := 2, 3, 4, 5
	if req.Cmd == CmdLeaseSet {
		casAt, flagsAt, expAt, bytesAt = 2, 3, 4, 5
	}
	flags, ok1 := parseUint(t[flagsAt])
	_, ok2 := parseInt(t[expAt])
	size, ok3 := valueLen(t[bytesAt])
	if !ok1 || !ok2 || !ok3 {
		return errFormat
	}
	if isCas {
		c, ok := parseUint(t[casAt])
		if !ok {
			return errFormat
		}
		req.Cas = c
	}
	req.Flags, req.Bytes = uint32(flags), size
	return nil
}

func parseDelete(req *Request) error {
	t := req.Tokens
	n := len(t)
	if n < 2 || n > 4 {
		return errUnknown
	}
	if n > 2 {
		holdZero := bytes.Equal(t[2], []byte("0"))
		req.Noreply = bytes.Equal(t[n-1], noreplyToken)
		valid := (n == 3 && (holdZero || req.Noreply)) || (n == 4 && holdZero && req.Noreply)
		if !valid {
			return errDelUsage
		}
	}
	return addKeys(req, t[1:2])
}

// parseMeta extracts what a proxy needs from a meta command: the key, the
// q (quiet) and b (base64 key) flags, and for ms the data length. The other
// flags are memcached's to judge.
func parseMeta(req *Request) error {
	t := req.Tokens
	if len(t) < 2 {
		return errUnknown
	}
	key := t[1]
	flags := t[2:]
	if req.Cmd == CmdMetaSet {
		if len(t) < 3 {
			return errFormat
		}
		flags = t[3:]
	}
	limit := KeyMaxLength
	for _, f := range flags {
		if len(f) == 1 && f[0] == 'q' {
			req.Noreply = true
		}
		if len(f) == 1 && f[0] == 'b' {
			// base64 grows keys by 4/3; memcached checks the decoded length.
			limit = (KeyMaxLength + 2) / 3 * 4
		}
	}
	if len(key) > limit {
		return errFormat
	}
	req.Keys = append(req.Keys, key)
	if req.Cmd == CmdMetaSet {
		size, ok := valueLen(t[2])
		if !ok {
			return errFormat
		}
		req.Bytes = size
	}
	return nil
}

// MetaBase64 reports whether a meta request's key is base64-encoded (b flag).
func MetaBase64(req *Request) bool {
	flags := req.Tokens[2:]
	if req.Cmd == CmdMetaSet && len(flags) > 0 {
		flags = flags[1:]
	}
	for _, f := range flags {
		if len(f) == 1 && f[0] == 'b' {
			return true
		}
	}
	return false
}
