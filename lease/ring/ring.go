package ring

import (
	"errors"
	"fmt"
)

// Ring maps a key to the index of the server that owns it.
type Ring interface {
	// Pick returns the index into Servers() of the server owning key.
	Pick(key string) int
	// Servers returns the servers in the order they were given to New.
	Servers() []string
}

// Kinds accepted by New.
const (
	KindKetama = "ketama"
	KindCRC32  = "crc32"
)

// ErrNoServers is returned by New when the server list is empty.
var ErrNoServers = errors.New("ring: no servers")

// New builds a ring of kind "ketama" (also when kind is "") or "crc32" over
// servers (host:port).
func New(kind string, servers []string) (Ring, error) {
	if len(servers) == 0 {
		return nil, ErrNoServers
	}
	// Copy so a caller mutating its slice cannot reroute keys under us.
	s := append([]string(nil), servers...)
	switch kind {
	case "", KindKetama:
		return newKetama(s), nil
	case KindCRC32:
		return crcRing{servers: s}, nil
	default:
		return nil, fmt.Errorf("ring: unknown hash %q (want ketama or crc32)", kind)
	}
}
