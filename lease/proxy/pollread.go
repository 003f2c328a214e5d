package proxy

import (
	"io"
	"net"
	"syscall"
)

// pollReader reads a client connection without the read that would only
// return EAGAIN. A client waits for its reply before sending more, so after
// a read that emptied the socket the next read almost always finds nothing;
// net.Conn would try it anyway (one syscall) before parking in the poller.
// pollReader parks first instead, which is safe only then: the poller is
// edge-triggered, so data left in the socket by a read that filled the
// whole buffer would raise no new event and must be read straight away.
type pollReader struct {
	rc      syscall.RawConn
	drained bool // the last read returned less than asked: the socket is empty
}

// newConnReader returns a pollReader for TCP connections and nc itself for
// anything else.
func newConnReader(nc net.Conn) io.Reader {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nc
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nc
	}
	return &pollReader{rc: rc}
}

func (r *pollReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var rerr error
	skip := r.drained
	err := r.rc.Read(func(fd uintptr) bool {
		if skip {
			skip = false
			return false // wait for readability first
		}
		for {
			n, rerr = syscall.Read(int(fd), p)
			if rerr != syscall.EINTR {
				break
			}
		}
		return rerr != syscall.EAGAIN
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		r.drained = false
		return 0, rerr
	}
	if n == 0 {
		return 0, io.EOF
	}
	r.drained = n < len(p)
	return n, nil
}
