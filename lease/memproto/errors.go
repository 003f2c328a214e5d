package memproto

import "errors"

// ErrLineTooLong means the client sent a line longer than memcached accepts
// without a newline; memcached closes such connections and so must callers.
var ErrLineTooLong = errors.New("memproto: command line too long")

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
