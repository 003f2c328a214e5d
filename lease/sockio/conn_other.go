//go:build !linux

package sockio

import "net"

// Wrap returns nc itself: the raw calls are written for Linux, where the
// proxy runs in production; elsewhere the runtime's own I/O serves.
func Wrap(nc net.Conn) net.Conn { return nc }
