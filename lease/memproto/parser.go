package memproto

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Config bounds what a Parser accepts.
type Config struct {
	// MaxItemSize is the largest value accepted; larger ones are swallowed.
	MaxItemSize int
	// MaxLine is the longest command line; memcached closes the connection
	// when 2048 bytes arrive without a newline.
	MaxLine int
	// MaxGetLine is the longest get/gets line (memcached allows long
	// multi-gets; we still bound them).
	MaxGetLine int
}

// DefaultConfig matches memcached 1.6.18's defaults.
func DefaultConfig() Config {
	return Config{MaxItemSize: 1 << 20, MaxLine: 2048, MaxGetLine: 256 << 10}
}

// KeyMaxLength is memcached's key length limit.
const KeyMaxLength = 250

// Parser reads requests from a client stream.
type Parser struct {
	cfg  Config
	r    *bufio.Reader
	line []byte
	data []byte
	req  Request
	// started is set once the first byte has been seen (binary check).
	started bool
}

// NewParser reads from r with the limits in cfg (zero fields take defaults).
func NewParser(r io.Reader, cfg Config) *Parser {
	d := DefaultConfig()
	if cfg.MaxItemSize <= 0 {
		cfg.MaxItemSize = d.MaxItemSize
	}
	if cfg.MaxLine <= 0 {
		cfg.MaxLine = d.MaxLine
	}
	if cfg.MaxGetLine < cfg.MaxLine {
		cfg.MaxGetLine = max(d.MaxGetLine, cfg.MaxLine)
	}
	return &Parser{cfg: cfg, r: bufio.NewReaderSize(r, 16<<10)}
}

// Buffered reports how many bytes are already read but not parsed; a server
// flushes its replies when it is 0 (the client's pipeline is drained).
func (p *Parser) Buffered() int { return p.r.Buffered() }

// binaryMagic is the first byte of every binary protocol request.
const binaryMagic = 0x80

// Next parses the next request. Errors: io.EOF (or another read error) when
// the stream ends, ErrLineTooLong, ErrHTTP and ErrBinaryProtocol (close the
// connection), *ProtocolError (answer it and call Next again).
func (p *Parser) Next() (*Request, error) {
	if !p.started {
		// memcached picks the protocol from a connection's first byte.
		b, err := p.r.Peek(1)
		if err != nil {
			return nil, err
		}
		p.started = true
		if b[0] == binaryMagic {
			return nil, ErrBinaryProtocol
		}
	}
	if err := p.readLine(); err != nil {
		return nil, err
	}
	req := &p.req
	req.reset()
	// memcached tokenizes the line as a C string: a NUL ends it.
	if i := bytes.IndexByte(p.line, 0); i >= 0 {
		p.line = p.line[:i]
	}
	req.Tokens = tokenize(p.line, req.Tokens)
	if len(req.Tokens) == 0 {
		return nil, errUnknown
	}
	cmd, ok := commandNames[string(req.Tokens[0])]
	// memcached does not know the lease commands: an HTTP line looks the
	// same to it whether it starts with one of them or not.
	if (!ok || cmd.isLease()) && isHTTP(req.Tokens) {
		return nil, ErrHTTP
	}
	if !ok {
		return nil, errUnknown
	}
	req.Cmd = cmd
	if err := parseArgs(req); err != nil {
		if req.Noreply && !cmd.IsMeta() {
			err = quiet(err)
		}
		return nil, err
	}
	if cmd.IsStorage() || cmd == CmdLeaseSet || cmd == CmdMetaSet {
		return p.readData(req)
	}
	return req, nil
}

// httpMaxTokens is how many tokens memcached's tokenizer looks at before it
// stops splitting; a longer line is never taken for an HTTP request.
const httpMaxTokens = 23

// isHTTP reports whether memcached 1.6.18 closes the connection on a line of
// a command it does not know: its last token starts with "HTTP/". Commands
// starting with 'g' or 's', or of two bytes starting with 'm', are answered
// ERROR instead (memcached dispatches those on their first byte), as are
// one-byte commands.
func isHTTP(t [][]byte) bool {
	c := t[0]
	switch {
	case len(t) > httpMaxTokens, len(c) < 2, c[0] == 'g', c[0] == 's', c[0] == 'm' && len(c) == 2:
		return false
	}
	return bytes.HasPrefix(t[len(t)-1], []byte("HTTP/"))
}

func (p *Parser) readLine() error {
	p.line = p.line[:0]
	// Wait for a newline while enforcing memcached's limit on what may be
	// buffered without one; ReadSlice alone would only notice at 16 KiB.
	for {
		n := p.r.Buffered()
		buf, _ := p.r.Peek(n)
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			// The whole line is buffered: take it without scanning again.
			// memcached, too, parses any line whose newline came in with
			// it (the buffer bounds it); only the wait for one is limited.
			chunk := buf[:i+1]
			p.line = append(p.line, chunk[:i]...)
			_, _ = p.r.Discard(len(chunk))
			p.trimCR()
			return nil
		}
		if n > p.cfg.MaxLine && p.limit(buf) == p.cfg.MaxLine {
			return ErrLineTooLong
		}
		if n >= p.r.Size() {
			break // a long multi-get: accumulate it below
		}
		if _, err := p.r.Peek(n + 1); err != nil {
			if err == io.EOF && n > 0 {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	for {
		chunk, err := p.r.ReadSlice('\n')
		// limit never allows less than MaxLine (NewParser ensures
		// MaxGetLine >= MaxLine), so only a longer line needs it.
		if n := len(p.line) + len(chunk); n > p.cfg.MaxLine && n > p.limit(chunk) {
			return ErrLineTooLong
		}
		p.line = append(p.line, chunk...)
		switch {
		case err == nil:
			p.line = p.line[:len(p.line)-1]
			p.trimCR()
			return nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(p.line) > 0:
			return io.ErrUnexpectedEOF
		default:
			return err
		}
	}
}

// trimCR drops the \r of a line's \r\n (the \n is already gone).
func (p *Parser) trimCR() {
	if n := len(p.line); n > 0 && p.line[n-1] == '\r' {
		p.line = p.line[:n-1]
	}
}

// maxLeadingSpaces is how many spaces memcached skips looking for a long
// multi-get's "get ".
const maxLeadingSpaces = 100

// limit decides the allowed line length from what has been read so far.
func (p *Parser) limit(chunk []byte) int {
	head := p.line
	if len(head) == 0 {
		head = chunk
	}
	trimmed := bytes.TrimLeft(head, " ")
	if len(head)-len(trimmed) > maxLeadingSpaces {
		return p.cfg.MaxLine
	}
	head = trimmed
	if bytes.HasPrefix(head, []byte("get ")) || bytes.HasPrefix(head, []byte("gets ")) {
		return p.cfg.MaxGetLine
	}
	return p.cfg.MaxLine
}

func (p *Parser) readData(req *Request) (*Request, error) {
	n := req.Bytes + 2
	if req.Bytes > p.cfg.MaxItemSize {
		if _, err := p.r.Discard(n); err != nil {
			return nil, err
		}
		pe := &ProtocolError{Reply: ReplyTooLarge, Noreply: req.Noreply, TooLarge: true, Cmd: req.Cmd}
		if len(req.Keys) > 0 {
			pe.Key = append([]byte(nil), req.Keys[0]...)
		}
		return nil, pe
	}
	if cap(p.data) < n {
		p.data = make([]byte, n)
	}
	p.data = p.data[:n]
	if _, err := io.ReadFull(p.r, p.data); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if p.data[n-2] != '\r' || p.data[n-1] != '\n' {
		if req.Noreply && !req.Cmd.IsMeta() {
			return nil, errChunkQ
		}
		return nil, errChunk
	}
	req.Data = p.data[:req.Bytes]
	return req, nil
}

// tokenize splits on spaces like memcached's tokenize_command: runs of
// spaces separate tokens, nothing else does.
func tokenize(line []byte, dst [][]byte) [][]byte {
	start := -1
	for i, c := range line {
		if c == ' ' {
			if start >= 0 {
				dst = append(dst, line[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		dst = append(dst, line[start:])
	}
	return dst
}

// ValidKey reports whether k may be stored and routed: 1..250 bytes. Like
// memcached's text protocol, any other byte is allowed (memcaslap's keys
// carry control characters); spaces and NUL cannot occur in a token.
func ValidKey(k []byte) bool {
	return len(k) > 0 && len(k) <= KeyMaxLength
}
