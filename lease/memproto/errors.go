package memproto

import "errors"

// Errors after which the caller closes the connection, as memcached does.
var (
	// ErrLineTooLong: more than MaxLine bytes buffered without a newline.
	ErrLineTooLong = errors.New("memproto: command line too long")
	// ErrHTTP: an HTTP request line (a command memcached does not know
	// whose last token starts with "HTTP/"); memcached closes at once.
	ErrHTTP = errors.New("memproto: HTTP request line")
	// ErrBinaryProtocol: the connection's first byte is 0x80, a binary
	// protocol request, which is not served. Closing at once gives a
	// misconfigured client an error instead of a timeout.
	ErrBinaryProtocol = errors.New("memproto: binary protocol not served")
)

// ProtocolError is malformed input: the caller answers Reply (unless
// Noreply) and keeps reading, exactly like memcached.
type ProtocolError struct {
	Reply   string
	Noreply bool
	// TooLarge is set for a value over MaxItemSize, with the command and key:
	// memcached then also unlinks the key for a set, so stale data does not
	// outlive a failed overwrite.
	TooLarge bool
	Cmd      Command
	Key      []byte
}

func (e *ProtocolError) Error() string { return "memproto: " + e.Reply }

// Replies memcached gives to malformed input.
const (
	ReplyError          = "ERROR"
	ReplyBadFormat      = "CLIENT_ERROR bad command line format"
	ReplyBadChunk       = "CLIENT_ERROR bad data chunk"
	ReplyTooLarge       = "SERVER_ERROR object too large for cache"
	ReplyBadExptime     = "CLIENT_ERROR invalid exptime argument"
	ReplyBadDelta       = "CLIENT_ERROR invalid numeric delta argument"
	ReplyBadDeleteUsage = "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]"
)

var (
	errUnknown  = &ProtocolError{Reply: ReplyError}
	errFormat   = &ProtocolError{Reply: ReplyBadFormat}
	errExptime  = &ProtocolError{Reply: ReplyBadExptime}
	errDelta    = &ProtocolError{Reply: ReplyBadDelta}
	errDelUsage = &ProtocolError{Reply: ReplyBadDeleteUsage}
	errChunk    = &ProtocolError{Reply: ReplyBadChunk}
	errChunkQ   = &ProtocolError{Reply: ReplyBadChunk, Noreply: true}
)

// quietErrs are the errors' twins for a classic command ending in
// "noreply": memcached decides noreply from the last token before it
// validates the others, and then stays silent about them too.
var quietErrs = map[*ProtocolError]*ProtocolError{}

func init() {
	for _, e := range []*ProtocolError{errUnknown, errFormat, errExptime, errDelta, errDelUsage} {
		quietErrs[e] = &ProtocolError{Reply: e.Reply, Noreply: true}
	}
	quietErrs[errChunk] = errChunkQ
}

// quiet returns err's silent twin.
func quiet(err error) error {
	if q, ok := quietErrs[asProtocolError(err)]; ok {
		return q
	}
	return err
}

func asProtocolError(err error) *ProtocolError {
	pe, _ := err.(*ProtocolError)
	return pe
}
