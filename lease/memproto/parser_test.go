package memproto

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func parseAll(t *testing.T, in string, cfg Config) []string {
	t.Helper()
	p := NewParser(strings.NewReader(in), cfg)
	var out []string
	for {
		req, err := p.Next()
		var pe *ProtocolError
		switch {
		case errors.As(err, &pe) && pe.Noreply:
			out = append(out, "quiet:"+pe.Reply)
			continue
		case errors.As(err, &pe):
			out = append(out, "reply:"+pe.Reply)
			continue
		case err != nil:
			out = append(out, "err:"+err.Error())
			return out
		}
		s := req.Cmd.String()
		for _, k := range req.Keys {
			s += " " + string(k)
		}
		if req.Data != nil {
			s += " data=" + string(req.Data)
		}
		if req.Noreply {
			s += " noreply"
		}
		out = append(out, s)
	}
}

func TestParser(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"get a b\r\n", []string{"get a b", "err:EOF"}},
		{"get a\n", []string{"get a", "err:EOF"}},
		{"  gets  a  \r\n", []string{"gets a", "err:EOF"}},
		{"set k 1 2 3\r\nabc\r\n", []string{"set k data=abc", "err:EOF"}},
		{"set k 1 2 3 noreply\r\nabc\r\n", []string{"set k data=abc noreply", "err:EOF"}},
		{"set k 1 2 1\r\nabc\r\n", []string{"reply:" + ReplyBadChunk, "reply:ERROR", "err:EOF"}},
		{"set k x 2 1\r\na\r\n", []string{"reply:" + ReplyBadFormat, "reply:ERROR", "err:EOF"}},
		{"cas k 0 0 1 9\r\na\r\n", []string{"cas k data=a", "err:EOF"}},
		{"lease-set k 1025 0 0 1\r\na\r\nlease-get k\r\n", []string{"lease-set k data=a", "lease-get k", "err:EOF"}},
		{"delete k 0\r\ndelete k x\r\n", []string{"delete k", "reply:" + ReplyBadDeleteUsage, "err:EOF"}},
		{"incr k x\r\ntouch k x\r\ngat x k\r\n", []string{"reply:" + ReplyBadDelta, "reply:" + ReplyBadExptime, "reply:" + ReplyBadExptime, "err:EOF"}},
		{"get " + strings.Repeat("k", 251) + "\r\n", []string{"reply:" + ReplyBadFormat, "err:EOF"}},
		{"get a\x01b\r\n", []string{"get a\x01b", "err:EOF"}},
		{"get a\x00b\r\nset a\x00 0 0 1\r\n", []string{"get a", "reply:ERROR", "err:EOF"}},
		{"mg k v q\r\nms k 2 T0\r\nhi\r\nmn\r\n", []string{"mg k noreply", "ms k data=hi", "mn", "err:EOF"}},
		{"ms " + strings.Repeat("k", 251) + " 1\r\na\r\n", []string{"reply:" + ReplyBadFormat, "reply:ERROR", "err:EOF"}},
		{"bogus\r\n\r\nquit\r\n", []string{"reply:ERROR", "reply:ERROR", "quit", "err:EOF"}},
		{"set k 0 0 5\r\nab", []string{"err:unexpected EOF"}},
		{"\x80\x00\x00\x05get a\r\n", []string{"err:" + ErrBinaryProtocol.Error()}},
		{"get a\r\n\x80\r\n", []string{"get a", "reply:ERROR", "err:EOF"}},
		{"GET / HTTP/1.1\r\nget a\r\n", []string{"err:" + ErrHTTP.Error()}},
		{"gfoo HTTP/1.1\r\nlease-get a HTTP/1.0\r\n", []string{"reply:ERROR", "err:" + ErrHTTP.Error()}},
		{"incr k noreply\r\ntouch k x noreply\r\ncas k 0 0 1 noreply\r\na\r\ndelete k 5 noreply\r\n",
			[]string{"quiet:" + ReplyBadDelta, "quiet:" + ReplyBadExptime, "quiet:" + ReplyBadFormat, "reply:ERROR", "quiet:" + ReplyBadDeleteUsage, "err:EOF"}},
		{"ms k 1 q\r\nabc\r\nms k x q\r\n", []string{"reply:" + ReplyBadChunk, "reply:ERROR", "reply:" + ReplyBadFormat, "err:EOF"}},
		{"set k 0 0 4294967295\r\nset k 0 0 2147483646\r\nset k 0 0 4294967296\r\n\r\n",
			[]string{"reply:" + ReplyBadFormat, "reply:" + ReplyBadFormat, "set k data=", "err:EOF"}},
		{strings.Repeat("y", 3000) + "\r\nget " + strings.Repeat("k", 3000) + "\r\n", []string{"reply:ERROR", "reply:" + ReplyBadFormat, "err:EOF"}},
	}
	for _, c := range cases {
		got := parseAll(t, c.in, Config{})
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%q:\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestParserTooLargeIsSwallowed(t *testing.T) {
	in := "set big 0 0 11\r\n0123456789A\r\nset k 0 0 1 noreply\r\n0123\r\nget k\r\n"
	p := NewParser(strings.NewReader(in), Config{MaxItemSize: 10})
	_, err := p.Next()
	var pe *ProtocolError
	if !errors.As(err, &pe) || !pe.TooLarge || pe.Reply != ReplyTooLarge || string(pe.Key) != "big" || pe.Cmd != CmdSet {
		t.Fatalf("got %v", err)
	}
	_, err = p.Next()
	if !errors.As(err, &pe) || !pe.Noreply || pe.Reply != ReplyBadChunk {
		t.Fatalf("got %v", err)
	}
}

func TestParserClosesOnLongLine(t *testing.T) {
	p := NewParser(strings.NewReader(strings.Repeat("x", 3000)), Config{})
	if _, err := p.Next(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("got %v", err)
	}
	// A long multi-get is fine up to MaxGetLine...
	keys := strings.Repeat(" k", 5000)
	p = NewParser(strings.NewReader("get"+keys+"\r\n"), Config{})
	if req, err := p.Next(); err != nil || len(req.Keys) != 5000 {
		t.Fatalf("long get: %v", err)
	}
	// ...and no further.
	p = NewParser(io.MultiReader(strings.NewReader("get"), infinite{}), Config{MaxGetLine: 100 << 10})
	if _, err := p.Next(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("endless get: %v", err)
	}
}

type infinite struct{}

func (infinite) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = 'k'
		if i%10 == 0 {
			b[i] = ' '
		}
	}
	return len(b), nil
}

func TestParseMetaReply(t *testing.T) {
	m, ok := ParseMetaReply([]byte("VA 3 f7 c4 t30 X W"))
	if !ok || m.Code != "VA" || m.Size != 3 || m.Flags != 7 || m.Cas != 4 || !m.Stale || !m.Win || m.Other {
		t.Fatalf("%+v %v", m, ok)
	}
	if m, ok := ParseMetaReply([]byte("HD s0 c9 Z")); !ok || m.Size != 0 || !m.Placeholder() || !m.AbsentToClassic() {
		t.Fatalf("placeholder probe: %+v %v", m, ok)
	}
	if m, ok := ParseMetaReply([]byte("HD s5 c9 W X")); !ok || m.Size != 5 || m.Placeholder() || !m.AbsentToClassic() {
		t.Fatalf("stale probe: %+v %v", m, ok)
	}
	if m, ok := ParseMetaReply([]byte("HD s5 c9")); !ok || m.AbsentToClassic() {
		t.Fatalf("value probe: %+v %v", m, ok)
	}
	if _, ok := ParseMetaReply([]byte("SERVER_ERROR out of memory")); ok {
		t.Fatal("error line parsed as meta reply")
	}
	if !IsErrorReply([]byte("CLIENT_ERROR bad")) || IsErrorReply([]byte("HD")) {
		t.Fatal("IsErrorReply")
	}
}

func FuzzParser(f *testing.F) {
	for _, s := range []string{
		"get a b\r\n", "set k 1 2 3\r\nabc\r\n", "cas k 0 0 1 9 noreply\r\na\r\n",
		"mg k v f c N30 q\r\n", "ms k 2 b T0\r\nhi\r\n", "lease-set k 1025 0 0 1\r\na\r\n",
		"delete k 0 noreply\r\n", "gat 10 a b c\r\n", "incr k 18446744073709551615\r\n",
		"verbosity 1 noreply\r\n", "flush_all -1\r\n", "set k 0 0 99999999999\r\n",
	} {
		f.Add([]byte(s))
	}
	cfg := Config{MaxItemSize: 1 << 10, MaxLine: 2048, MaxGetLine: 8 << 10}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 64<<10 {
			return
		}
		p := NewParser(bytes.NewReader(in), cfg)
		for range 10000 {
			req, err := p.Next()
			var pe *ProtocolError
			if errors.As(err, &pe) {
				continue
			}
			if err != nil {
				return
			}
			if len(req.Data) > cfg.MaxItemSize {
				t.Fatalf("data of %d bytes buffered", len(req.Data))
			}
			for _, k := range req.Keys {
				if len(k) == 0 || len(k) > 2*KeyMaxLength {
					t.Fatalf("key %q", k)
				}
			}
			if cap(p.line) > cfg.MaxGetLine+16<<10 {
				t.Fatalf("line buffer grew to %d", cap(p.line))
			}
		}
	})
}
