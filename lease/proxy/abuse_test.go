package proxy

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
)

const (
	abuseIdle     = 3000 // idle connections held open
	abuseHalfSets = 16   // sets that announce 1 MB and send half
	// perConnHeap bounds what one open client connection may keep on the
	// heap: the parser's 16 KiB read buffer, the 16 KiB reply buffer and the
	// client/request structs, with room to spare. A half-written set also
	// holds its value buffer (MaxItemSize+2), bounded by perHalfSetHeap.
	perConnHeap    = 48 << 10
	perHalfSetHeap = (1 << 20) + 64<<10
	heapSlack      = 32 << 20 // runtime, pool, test bookkeeping
)

// raiseNoFile lifts the soft descriptor limit to what the test needs: every
// connection costs one descriptor on each side, both in this process.
func raiseNoFile(t *testing.T, need uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= need {
		return
	}
	old := lim
	lim.Cur = min(need, lim.Max)
	if lim.Cur < need {
		t.Fatalf("RLIMIT_NOFILE hard limit %d, need %d", lim.Max, need)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("raise RLIMIT_NOFILE to %d: %v", need, err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}

func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// dialRaw opens a connection closed at cleanup.
func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return nc
}

// waitConns waits until the proxy counts exactly n open client connections.
func waitConns(t *testing.T, s *Server, n int64) {
	t.Helper()
	cluster.Eventually(t, 10*time.Second, func() error {
		if got := s.Stats().Connections; got != n {
			return fmt.Errorf("proxy counts %d connections, want %d", got, n)
		}
		return nil
	})
}

// checkServes proves an ordinary client still gets correct answers.
func checkServes(t *testing.T, addr, key string) {
	t.Helper()
	c := dial(t, addr)
	c.send("set " + key + " 5 0 3\r\nabc\r\n")
	c.expect("STORED")
	c.send("get " + key + " nokey\r\n")
	c.expect("VALUE "+key+" 5 3", "abc", "END")
	c.send("delete " + key + "\r\n")
	c.expect("DELETED")
}

// TestAbuseLeavesProxyServingWithBoundedMemory sends the proxy garbage,
// over-long lines, half-written commands and values, and thousands of idle
// connections, then checks that others are still served correctly, that
// the heap stays within connections × per-connection buffers, and that
// connections past MaxConns are refused exactly as memcached refuses them.
func TestAbuseLeavesProxyServingWithBoundedMemory(t *testing.T) {
	cfg := DefaultConfig()
	raiseNoFile(t, uint64(2*cfg.MaxConns+512))
	_, addrs := startMemcached(t, 1)
	s := startProxy(t, nil, addrs...) // default MaxConns; one readiness conn stays open
	addr := s.Addr()
	base := heapInuse()
	open := int64(1)

	// Thousands of idle connections.
	for range abuseIdle {
		dialRaw(t, addr)
	}
	open += abuseIdle

	// Commands cut mid-line or mid-value, left hanging.
	for _, in := range []string{"get foo", "set k 0 0 10\r\nabc", "lease-get", "mg k v", "gets a b c d e"} {
		nc := dialRaw(t, addr)
		if _, err := nc.Write([]byte(in)); err != nil {
			t.Fatal(err)
		}
		open++
	}

	// sets announcing 1 MB (the largest allowed value) and sending half:
	// the proxy holds their value buffers until the rest comes.
	half := bytes.Repeat([]byte("v"), 1<<19)
	for i := range abuseHalfSets {
		nc := dialRaw(t, addr)
		if _, err := nc.Write([]byte(fmt.Sprintf("set half%d 0 0 1048576\r\n", i))); err != nil {
			t.Fatal(err)
		}
		if _, err := nc.Write(half); err != nil {
			t.Fatal(err)
		}
		open++
	}

	// Lines over 2048 bytes without a newline: memcached closes those, and
	// so must the proxy.
	for range 8 {
		nc := dialRaw(t, addr)
		go func() { _, _ = nc.Write(bytes.Repeat([]byte("y"), 3000)) }()
		_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, nc); err != nil && !isReset(err) {
			t.Fatalf("over-long line: connection not closed: %v", err)
		}
	}

	// Random garbage, then end of input: the proxy answers what it parsed
	// and closes (any hang is a failure, caught by the deadline).
	rng := rand.New(rand.NewSource(1))
	for i := range 8 {
		junk := make([]byte, 64<<10)
		rng.Read(junk)
		if i%2 == 1 {
			// Printable garbage reaches the argument parsers, not just ERROR.
			const alphabet = " \r\nabcdefgset0123456789"
			for j := range junk {
				junk[j] = alphabet[int(junk[j])%len(alphabet)]
			}
		}
		nc := dialRaw(t, addr)
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			_, _ = nc.Write(junk)
			_ = nc.(*net.TCPConn).CloseWrite()
		}()
		if _, err := io.Copy(io.Discard, nc); err != nil && !isReset(err) {
			t.Fatalf("garbage %d: proxy did not finish the connection: %v", i, err)
		}
	}

	waitConns(t, s, open)
	checkServes(t, addr, "normal")
	open++ // checkServes's connection stays open until cleanup

	// Bounded memory: the heap grew by no more than every open connection's
	// buffers plus the half-written values.
	grown := int64(heapInuse()) - int64(base)
	bound := int64(open)*perConnHeap + abuseHalfSets*perHalfSetHeap + heapSlack
	t.Logf("heap in use grew by %d MiB for %d connections (%d KiB each besides the half-written values); bound %d MiB",
		grown>>20, open, (grown-abuseHalfSets*(1<<20))/open>>10, bound>>20)
	if grown > bound {
		t.Fatalf("heap grew by %d bytes, bound %d", grown, bound)
	}

	// Fill up to MaxConns; the next connection gets memcached's refusal.
	for range int64(cfg.MaxConns) - open {
		dialRaw(t, addr)
	}
	waitConns(t, s, int64(cfg.MaxConns))
	got := refusal(t, addr)
	want := refusal(t, memcachedAtLimit(t))
	if got != want || !strings.HasPrefix(want, "ERROR Too many open connections") {
		t.Fatalf("over MaxConns: proxy %q, memcached %q", got, want)
	}
	if n := s.Stats().Connections; n != int64(cfg.MaxConns) {
		t.Fatalf("connections %d after refusal, want %d", n, cfg.MaxConns)
	}
}

// memcachedAtLimit starts a memcached with a small connection limit and
// fills it, returning its address.
func memcachedAtLimit(t *testing.T) string {
	t.Helper()
	m := cluster.StartMemcached(t, cluster.WithMaxConns(32))
	// memcached reserves some of its -c slots for itself, so 32 client
	// connections are sure to exceed it.
	for range 32 {
		dialRaw(t, m.Addr())
	}
	return m.Addr()
}

// refusal dials addr and returns everything received until the server
// closes the connection.
func refusal(t *testing.T, addr string) string {
	t.Helper()
	nc := dialRaw(t, addr)
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(nc)
	if err != nil && !isReset(err) {
		t.Fatalf("%s: over-limit connection not closed: %v (got %q)", addr, err, b)
	}
	return string(b)
}
