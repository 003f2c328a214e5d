package cluster

import "github.com/cachesync/cachesync/cmd/local"

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that this process has not handed out before (local.FreePort).
func FreePort(t TB) int {
	t.Helper()
	p, err := local.FreePort()
	if err != nil {
		t.Fatalf("%v", err)
	}
	return p
}

// RingBuffer keeps the last bytes written to it (local.RingBuffer).
type RingBuffer = local.RingBuffer

// NewRingBuffer keeps the last capacity bytes (capacity > 0).
func NewRingBuffer(capacity int) *RingBuffer { return local.NewRingBuffer(capacity) }
