package proxy

import (
	"errors"
	"io"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// A binary protocol request (pylibmc with binary=True) gets the connection
// closed at once instead of no answer: counted each time, logged once per
// client address.
func TestBinaryProtocolClosedAtOnce(t *testing.T) {
	_, addrs := startMemcached(t, 1)
	core, logs := observer.New(zap.InfoLevel)
	s := startProxy(t, func(c *Config) { c.Logger = zap.New(core) }, addrs...)
	// A binary "get k": magic 0x80, opcode 0, key length 1, ..., the key.
	req := append([]byte{0x80, 0x00, 0x00, 0x01}, make([]byte, 20)...)
	req[11] = 1
	req = append(req, 'k')
	for range 3 {
		c := dial(t, s.Addr())
		c.send(string(req))
		_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.r.Read(make([]byte, 16))
		if n != 0 || !errors.Is(err, io.EOF) && !isReset(err) {
			t.Fatalf("binary request: read %d bytes, %v; want the connection closed", n, err)
		}
	}
	if got := s.Stats().BinaryRefused; got != 3 {
		t.Fatalf("BinaryRefused = %d, want 3", got)
	}
	if n := logs.FilterMessageSnippet("binary protocol").Len(); n != 1 {
		t.Fatalf("%d log lines about the binary protocol for one client address, want 1", n)
	}
	// The text protocol on the same proxy is unaffected.
	c := dial(t, s.Addr())
	c.send("get k\r\n")
	c.expect("END")
}
