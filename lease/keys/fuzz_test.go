package keys

import (
	"errors"
	"strings"
	"testing"
)

// FuzzRender checks that whatever the template and value, Render either
// fails cleanly or returns a legal memcached key, and that values survive
// the encoding (decoding the key gives the value back).
func FuzzRender(f *testing.F) {
	f.Add("user:{id}", "42")
	f.Add("user_by_name:{name}", "Zoë Smith\r\n")
	f.Add("{a}{b}", "{}%")
	f.Add("x}{", "")
	f.Fuzz(func(t *testing.T, tpl, val string) {
		key, err := Render(tpl, func(string) (string, bool) { return val, true })
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrKeyTooLong) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if len(key) == 0 || len(key) > MaxKeyLen {
			t.Fatalf("key length %d", len(key))
		}
		for i := 0; i < len(key); i++ {
			if c := key[i]; c <= ' ' || c == 0x7f {
				t.Fatalf("key %q has byte %#x", key, c)
			}
		}
		// A template with one column and the literal text around it must
		// give the value back after percent-decoding.
		cols, cerr := Columns(tpl)
		if cerr != nil {
			t.Fatalf("Render accepted %q but Columns refused it: %v", tpl, cerr)
		}
		if len(cols) == 1 && strings.Count(tpl, "{") == 1 {
			open, close := strings.IndexByte(tpl, '{'), strings.IndexByte(tpl, '}')
			pre, post := tpl[:open], tpl[close+1:]
			enc := strings.TrimSuffix(strings.TrimPrefix(key, pre), post)
			if dec := percentDecode(t, enc); dec != val {
				t.Fatalf("value %q rendered as %q decodes to %q", val, enc, dec)
			}
		}
	})
}

func percentDecode(t *testing.T, s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			t.Fatalf("truncated escape in %q", s)
		}
		h := strings.IndexByte(upperHex, s[i+1])<<4 | strings.IndexByte(upperHex, s[i+2])
		b.WriteByte(byte(h))
		i += 2
	}
	return b.String()
}
