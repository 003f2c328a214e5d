package proxy

import (
	"net"
	"sync"

	"go.uber.org/zap"
)

// binaryLogLimit bounds the client addresses remembered as already logged;
// past it, refusals are still counted but new addresses are not logged.
const binaryLogLimit = 1024

// binaryRefusals counts connections closed for speaking the binary
// protocol, and logs the first from each client address: one misconfigured
// app host reconnecting in a loop must not flood the log.
type binaryRefusals struct {
	log *zap.Logger
	ctr *counters

	mu     sync.Mutex
	logged map[string]struct{}
}

func (b *binaryRefusals) refuse(addr net.Addr) {
	b.ctr.binaryRefused.Add(1)
	host := addr.String()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	b.mu.Lock()
	_, seen := b.logged[host]
	if !seen && len(b.logged) < binaryLogLimit {
		b.logged[host] = struct{}{}
	} else {
		seen = true
	}
	b.mu.Unlock()
	if !seen {
		b.log.Warn("binary protocol request refused, connection closed: the proxy serves memcached's text protocol only (configure the client for ASCII)",
			zap.String("client", host))
	}
}
