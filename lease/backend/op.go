package backend

import "errors"

// ErrServerDown is returned for requests to a server that is down.
var ErrServerDown = errors.New("backend: server down")

// ReplyKind says how to find the end of a request's reply.
type ReplyKind uint8

const (
	// ReplyLine is a single line (classic storage, delete, incr, touch ...).
	ReplyLine ReplyKind = iota
	// ReplyMeta is a meta reply: a line, plus a data block after "VA <n>".
	ReplyMeta
	// ReplyStats is STAT lines up to END (or a single other line).
	ReplyStats
)

// Op is one request and, once done, its reply. An Op is reusable after
// Wait returns; it must not be submitted twice at the same time.
type Op struct {
	// Req is the complete request as sent to memcached, data included.
	Req  []byte
	Kind ReplyKind
	// Reply holds the raw reply, \r\n included; Reply[:HeaderLen] is the
	// first line.
	Reply     []byte
	HeaderLen int
	Err       error
	done      chan struct{}
}

// NewOp returns an empty Op.
func NewOp() *Op { return &Op{done: make(chan struct{}, 1)} }

// Wait blocks until the Op completes and returns its error.
func (o *Op) Wait() error {
	<-o.done
	return o.Err
}

// Header returns the first reply line without \r\n.
func (o *Op) Header() []byte {
	h := o.Reply[:o.HeaderLen]
	for len(h) > 0 && (h[len(h)-1] == '\n' || h[len(h)-1] == '\r') {
		h = h[:len(h)-1]
	}
	return h
}

// Body returns the data block of a VA reply (without \r\n).
func (o *Op) Body() []byte {
	if len(o.Reply) < o.HeaderLen+2 {
		return nil
	}
	return o.Reply[o.HeaderLen : len(o.Reply)-2]
}

func (o *Op) finish(err error) {
	o.Err = err
	o.done <- struct{}{}
}
