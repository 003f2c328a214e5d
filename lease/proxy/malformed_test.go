package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// exchange sends input followed by "mn" and returns everything received up
// to the MN reply, or up to the connection closing.
func exchange(t *testing.T, addr, input string) string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	closes := strings.HasSuffix(input, noTerm)
	if closes {
		input = strings.TrimSuffix(input, noTerm)
	} else {
		input += "mn\r\n"
	}
	go func() { _, _ = nc.Write([]byte(input)) }()
	var got []byte
	buf := make([]byte, 64<<10)
	for !bytes.HasSuffix(got, []byte("MN\r\n")) {
		n, err := nc.Read(buf)
		got = append(got, buf[:n]...)
		if errors.Is(err, io.EOF) || isReset(err) {
			return string(got) + "<closed>"
		}
		if err != nil {
			t.Fatalf("%q: %v after %q", input, err, got)
		}
	}
	return string(got)
}

// noTerm marks an input sent without the trailing "mn": the server is
// expected to close the connection.
const noTerm = "<noterm>"

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

func TestMalformedInputMatchesMemcached(t *testing.T) {
	_, addrs := startMemcached(t, 2)
	s := startProxy(t, nil, addrs[1])
	k251 := strings.Repeat("k", 251)
	big := strings.Repeat("v", 1<<20+1)
	inputs := []string{
		"foo\r\n", "\r\n", "GET a\r\n", "get\r\n", "gets\r\n", "get a\n", "get  a   b \r\n",
		"set a 0 0\r\n", "set a 0 0 x\r\nab\r\n", "set a x 0 1\r\na\r\n", "set a 0 x 1\r\na\r\n",
		"set a 0 0 -1\r\n", "set a 0 0 1\r\nabc\r\n", "set a 0 0 1 noreply\r\nabc\r\n",
		"set a 0 0 1 2 3\r\na\r\n", "set a -1 0 1\r\nb\r\n", "set a 0 0 +1\r\nb\r\nget a\r\n",
		"set " + k251 + " 0 0 1\r\na\r\n", "get " + k251 + "\r\n",
		"set a 0 0 1048577\r\n" + big[:1<<20+1] + "\r\nget a\r\n",
		"set a 0 0 1048577 noreply\r\n" + big[:1<<20+1] + "\r\nget a\r\n",
		"delete a 0\r\n", "delete a x\r\n", "delete a 0 noreply\r\n", "delete a noreply\r\n", "delete\r\n",
		"incr a\r\n", "incr a x\r\n", "incr nokey 1\r\n", "incr a 18446744073709551616\r\n",
		"set n 0 0 1\r\nx\r\nincr n 1\r\n", "decr nokey 1 noreply\r\n",
		"touch a\r\n", "touch a x\r\n", "touch a 0 noreply\r\n",
		"gat a\r\n", "gat x a\r\n", "gat 0\r\n", "gats 0 a b\r\n",
		"cas a 0 0 1\r\na\r\n", "cas a 0 0 1 x\r\na\r\n", "cas nokey 0 0 1 1\r\na\r\n",
		"verbosity\r\n", "verbosity 1\r\n", "verbosity x\r\n", "verbosity 1 noreply\r\n", "verbosity 1 2 3\r\n",
		"flush_all x\r\n", "flush_all 0 noreply\r\n", "flush_all 0 0 0\r\n",
		"version x\r\n", "quit\r\nget a\r\n", "quit x\r\n",
		"mg\r\n", "mg a zz\r\n", "mg a v v\r\n", "ms a\r\n", "ms a x\r\n", "ms a 1 Q\r\nb\r\n",
		"ms " + k251 + " 1\r\na\r\n", "mg " + k251 + " v\r\n", "mg a v q\r\nmd zz q\r\n", "mg !! b v\r\n",
		"set a 0 0 3\r\nabcXY\r\n",
		// memcaslap's keys start with control bytes; a NUL ends the line.
		"set \x10\x10ab 0 0 1\r\nx\r\nget \x10\x10ab\r\ngets \x10\x10ab\r\nmg \x10\x10ab v\r\ndelete \x10\x10ab\r\n",
		"set a\x00b 0 0 1\r\nx\r\nget a\x00b\r\nmg \x7f\x01 v\r\n",
		strings.Repeat("y", 3000) + noTerm, // no newline after 2048 bytes: memcached closes
		// Long lines whose CRLF arrives with them are answered, not closed.
		strings.Repeat("y", 3000) + "\r\n", strings.Repeat("z", 2045) + "\r\n", strings.Repeat("z", 2046) + "\r\n",
		"set " + strings.Repeat("k", 3000) + " 0 0 1\r\na\r\n", "get " + strings.Repeat("k", 2100) + "\r\n",
		"mg " + strings.Repeat("k", 2100) + " v\r\n", strings.Repeat(" ", 150) + "get a\r\n",
		// Quiet mode: mg hides only EN; md, ms and ma hide only HD.
		"set hk 0 0 1\r\nx\r\nmg hk q\r\nmg hk q k\r\nmg nope q\r\nmg nope q k\r\nmg hk v q\r\n",
		"set hk 0 0 1\r\nx\r\nmd nope q\r\nmd hk q\r\nmd hk q\r\n",
		"ms qa 1 q\r\nx\r\nms qa 1 q C1\r\nx\r\nms qz 1 q ME\r\nx\r\nms qz 1 q ME\r\nx\r\nms qy 1 q MR\r\nx\r\n",
		"ma nope q\r\nset qn 0 0 1\r\n1\r\nma qn q\r\nma qn q v\r\nset qs 0 0 1\r\nx\r\nma qs q\r\n",
		"ms qa 1 q\r\nabc\r\n", "ms qa x q\r\n", "ma qa q N0 J13 zz\r\n",
		// A malformed classic command ending in noreply is answered by silence.
		"delete k 10 noreply\r\n", "delete k x noreply\r\n", "delete k 0 0 noreply\r\n", "delete k noreply x\r\n",
		"incr k noreply\r\n", "incr k x noreply\r\n", "decr k x noreply\r\n", "incr " + k251 + " 1 noreply\r\n",
		"touch k noreply\r\n", "touch k x noreply\r\n", "touch k 0 extra noreply\r\n",
		"set k 0 0 x noreply\r\nab\r\n", "set k x 0 1 noreply\r\na\r\n", "set k 0 x 1 noreply\r\na\r\n",
		"set k 0 0 -1 noreply\r\n", "set " + k251 + " 0 0 1 noreply\r\na\r\n", "cas k 0 0 1 x noreply\r\na\r\n",
		"cas k 0 0 1 noreply\r\na\r\n", "set k 0 0 1 2 noreply\r\na\r\n", "set k 0 0 1 noreply x\r\na\r\n",
		"verbosity x noreply\r\n", "flush_all x noreply\r\n", "gat x k noreply\r\n", "get noreply\r\n", "foo noreply\r\n",
		// Lengths memcached cannot hold are refused at once.
		"set k 0 0 4294967295\r\n", "set k 0 0 2147483648\r\n", "set k 0 0 2147483647\r\nabc\r\n",
		"set k 0 0 2147483646\r\n", "set k 0 0 4294967295 noreply\r\n", "cas k 0 0 4294967295 1\r\n",
		"set k 0 0 4294967296\r\n\r\nget k\r\n", "ms k 4294967295\r\n", "ms k 2147483646 q\r\n", "ms k -1 q\r\n",
		"set k 4294967296 0 1\r\nx\r\nmg k f v\r\n",
		// HTTP request lines close the connection; lookalikes do not.
		"GET / HTTP/1.0\r\n\r\n", "POST /x HTTP/1.1\r\nHost: a\r\n", "foo HTTP/1.1\r\n", "HTTP/1.1\r\n",
		"foo HTTP/\r\n", "foo HTTPx\r\n", "foo http/1.1\r\n", "GET / HTTP/1.0 x\r\n", "get a HTTP/1.1\r\n",
		"gfoo HTTP/1.1\r\n", "sfoo HTTP/1.1\r\n", "mz HTTP/1.1\r\n", "mn HTTP/1.1\r\n", "x HTTP/1.1\r\n",
		"set a HTTP/1.1\r\n", "incr HTTP/1.1\r\n", "delete HTTP/1.1\r\n", "lease-get a HTTP/1.1\r\n",
		"X1 X2 X3 X4 X5 X6 X7 X8 X9 X10 X11 X12 X13 X14 X15 X16 X17 X18 X19 X20 X21 X22 HTTP/1.1\r\n",
		"X1 X2 X3 X4 X5 X6 X7 X8 X9 X10 X11 X12 X13 X14 X15 X16 X17 X18 X19 X20 X21 X22 X23 HTTP/1.1\r\n",
	}
	for _, in := range inputs {
		want := maskCas(exchange(t, addrs[0], in))
		got := maskCas(exchange(t, s.Addr(), in))
		if got != want {
			short := in
			if len(short) > 80 {
				short = short[:80] + "..."
			}
			t.Errorf("input %q:\nproxy     %q\nmemcached %q", short, clip(got), clip(want))
		}
	}
}

// getsCasRe matches the CAS of a gets reply line.
var getsCasRe = regexp.MustCompile(`(?m)^(VALUE \S+ \d+ \d+) \d+\r$`)

// maskCas hides the CAS values of gets replies: they are memcached's
// counter, which the proxy's leases (placeholders) advance on its own
// server, not the proxy's answer.
func maskCas(s string) string {
	return getsCasRe.ReplaceAllString(s, "$1 <cas>\r")
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
