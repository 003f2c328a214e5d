package keys

import "fmt"

const upperHex = "0123456789ABCDEF"

// unreserved marks the bytes a value may keep as is (RFC 3986 unreserved).
var unreserved = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "._~-" {
		t[c] = true
	}
	return t
}()

// Render replaces each {column} of template by lookup(column), percent-encoding
// value bytes outside A-Z a-z 0-9 . _ ~ -. It fails when the template is
// malformed (ErrSyntax), when lookup reports a column missing
// (ErrMissingColumn), or when the key would exceed MaxKeyLen bytes
// (ErrKeyTooLong).
func Render(template string, lookup func(col string) (string, bool)) (string, error) {
	if template == "" {
		return "", fmt.Errorf("empty template: %w", ErrSyntax)
	}
	// The key is built on the stack; the headroom of an escape sequence lets
	// the length check run after each append without growing the slice.
	var arr [MaxKeyLen + 3]byte
	buf := arr[:0]
	for i := 0; i < len(template); {
		lit, col, next, err := nextToken(template, i)
		if err != nil {
			return "", err
		}
		i = next
		if col == "" {
			if len(buf)+len(lit) > MaxKeyLen {
				return "", fmt.Errorf("template %q: %w", template, ErrKeyTooLong)
			}
			buf = append(buf, lit...)
			continue
		}
		v, ok := lookup(col)
		if !ok {
			return "", fmt.Errorf("template %q: column %q: %w", template, col, ErrMissingColumn)
		}
		for j := 0; j < len(v); j++ {
			c := v[j]
			if unreserved[c] {
				buf = append(buf, c)
			} else {
				buf = append(buf, '%', upperHex[c>>4], upperHex[c&15])
			}
			if len(buf) > MaxKeyLen {
				return "", fmt.Errorf("template %q: %w", template, ErrKeyTooLong)
			}
		}
	}
	if len(buf) == 0 {
		return "", fmt.Errorf("template %q renders an empty key: %w", template, ErrSyntax)
	}
	return string(buf), nil
}
