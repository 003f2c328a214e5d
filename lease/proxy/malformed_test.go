package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
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
	}
	for _, in := range inputs {
		want := exchange(t, addrs[0], in)
		got := exchange(t, s.Addr(), in)
		if got != want {
			short := in
			if len(short) > 80 {
				short = short[:80] + "..."
			}
			t.Errorf("input %q:\nproxy     %q\nmemcached %q", short, clip(got), clip(want))
		}
	}
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
