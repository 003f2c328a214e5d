package proxy

// A lease token carries the CAS memcached gave the lease holder and the
// index of the server that issued it, so lease-set goes back to that server
// even if the key would now route elsewhere. Tokens 0 and 1 are reserved
// (1 = hot miss); any real token is at least 1<<tokenServerBits because a
// memcached CAS is never 0.
const tokenServerBits = 10

// HotMissToken is the token of an LVALUE that grants no lease.
const HotMissToken = 1

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
