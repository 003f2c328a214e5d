package memproto

// Request is one parsed command. Its slices point into the Parser's buffers
// and are valid until the next call to Parser.Next.
type Request struct {
	Cmd Command
	// Tokens are the command line split on spaces, Tokens[0] the command.
	Tokens [][]byte
	// Keys are the keys of the command (several for get-family commands).
	Keys [][]byte
	// Flags, Bytes and Cas (also the lease token) are the numeric arguments
	// the command carries, when it carries them. Exptimes and deltas are
	// validated but not kept: commands are forwarded as sent.
	Flags uint32
	Bytes int
	Cas   uint64
	// Noreply is set when the command ends with "noreply" (classic) or
	// carries the q flag (meta).
	Noreply bool
	// Data is the value of storage commands, without its trailing \r\n.
	Data []byte
}

func (r *Request) reset() {
	r.Cmd = CmdUnknown
	r.Tokens = r.Tokens[:0]
	r.Keys = r.Keys[:0]
	r.Flags, r.Bytes, r.Cas = 0, 0, 0
	r.Noreply = false
	r.Data = nil
}
