package cluster

import (
	"net"
	"sync"
)

var (
	portsMu sync.Mutex
	// handedOut stops one test process from reusing a port it already gave to
	// a server that has merely stopped for a restart.
	handedOut = map[int]bool{}
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that this process has not handed out before. Servers started by this
// package retry with another port if it is taken in between.
func FreePort(t TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	return p
}

func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handedOut[p] {
			handedOut[p] = true
			return p, nil
		}
	}
}
