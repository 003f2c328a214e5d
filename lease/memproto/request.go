package memproto

// Request is one parsed command. Its slices point into the Parser's buffers
// and are valid until the next call to Parser.Next.
type Request struct {
	Cmd Command
	// Tokens are the command line split on spaces, Tokens[0] the command.
	Tokens [][]byte
	// Keys are the keys of the command (several for get-family commands).
	Keys [][]byte
	// Flags, Exptime, Bytes, Cas (also the lease token) and Delta are the
	// numeric arguments the command carries, when it carries them.
	Flags   uint32
	Exptime int64
	Bytes   int
	Cas     uint64
	Delta   uint64
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
	r.Flags, r.Exptime, r.Bytes, r.Cas, r.Delta = 0, 0, 0, 0, 0
	r.Noreply = false
	r.Data = nil
}
