package proxy

import "github.com/cachesync/cachesync/lease/memproto"

// A lease token carries the CAS memcached gave the lease holder and the
// index of the server that issued it, so lease-set goes back to that server
// even if the key would now route elsewhere. Tokens 0 and 1 are reserved
// (1 = hot miss); any real token is at least 1<<tokenServerBits because a
// memcached CAS is never 0.
const tokenServerBits = 10

// HotMissToken is the token of an LVALUE that grants no lease.
const HotMissToken = memproto.HotMissToken

func encodeToken(cas uint64, server int) uint64 {
	return cas<<tokenServerBits | uint64(server)
}

func decodeToken(token uint64) (cas uint64, server int, ok bool) {
	cas = token >> tokenServerBits
	if cas == 0 {
		return 0, 0, false
	}
	return cas, int(token & (1<<tokenServerBits - 1)), true
}

// leaseToken decodes a client's lease token; ok is false unless it is a real
// token of one of the pool's servers.
func (c *client) leaseToken(token uint64) (cas uint64, srv int, ok bool) {
	cas, srv, ok = decodeToken(token)
	return cas, srv, ok && srv < c.s.pool.NumServers()
}
