package keys

import (
	"errors"
	"fmt"
	"slices"
)

// MaxKeyLen is memcached's limit on the length of a key.
const MaxKeyLen = 250

var (
	// ErrKeyTooLong is returned when a rendered key exceeds MaxKeyLen bytes.
	ErrKeyTooLong = errors.New("key longer than 250 bytes")
	// ErrMissingColumn is returned when lookup does not know a column the
	// template uses.
	ErrMissingColumn = errors.New("missing column")
	// ErrSyntax is returned for a malformed template.
	ErrSyntax = errors.New("invalid key template")
)

// Template is a parsed key template. Parsing once lets callers learn its
// columns at start-up (to check them against the database) and render
// without re-validating on every row.
type Template struct {
	text    string
	columns []string
}

// Parse validates template and returns it parsed.
func Parse(template string) (*Template, error) {
	cols, err := Columns(template)
	if err != nil {
		return nil, err
	}
	return &Template{text: template, columns: cols}, nil
}

// String returns the template's text.
func (t *Template) String() string { return t.text }

// Columns returns the distinct columns the template uses, in order of first
// use. The slice is shared: do not modify it.
func (t *Template) Columns() []string { return t.columns }

// Render renders the template; see the package-level Render.
func (t *Template) Render(lookup func(col string) (string, bool)) (string, error) {
	return Render(t.text, lookup)
}

// Columns returns the distinct columns template uses, in order of first use,
// or an error when the template is malformed: unbalanced braces, an empty
// column name, or literal text that a memcached key cannot hold.
func Columns(template string) ([]string, error) {
	if template == "" {
		return nil, fmt.Errorf("empty template: %w", ErrSyntax)
	}
	var cols []string
	for i := 0; i < len(template); {
		_, col, next, err := nextToken(template, i)
		if err != nil {
			return nil, err
		}
		i = next
		if col == "" || slices.Contains(cols, col) {
			continue
		}
		cols = append(cols, col)
	}
	return cols, nil
}

// nextToken returns the token starting at byte i: either a run of literal
// text or one {column}, and where the next token starts. It validates as it
// goes, so Render needs no separate parse step and no closures (which would
// move its stack buffer to the heap).
func nextToken(template string, i int) (lit, col string, next int, err error) {
	if template[i] == '{' {
		end := i + 1
		for end < len(template) && template[end] != '}' {
			if template[end] == '{' {
				return "", "", 0, fmt.Errorf("template %q: nested '{' at byte %d: %w", template, end, ErrSyntax)
			}
			end++
		}
		if end == len(template) {
			return "", "", 0, fmt.Errorf("template %q: unclosed '{' at byte %d: %w", template, i, ErrSyntax)
		}
		if end == i+1 {
			return "", "", 0, fmt.Errorf("template %q: empty column name at byte %d: %w", template, i, ErrSyntax)
		}
		return "", template[i+1 : end], end + 1, nil
	}
	start := i
	for ; i < len(template) && template[i] != '{'; i++ {
		switch c := template[i]; {
		case c == '}':
			return "", "", 0, fmt.Errorf("template %q: unmatched '}' at byte %d: %w", template, i, ErrSyntax)
		case c <= ' ' || c == 0x7f:
			return "", "", 0, fmt.Errorf("template %q: space or control character at byte %d: %w", template, i, ErrSyntax)
		}
	}
	return template[start:i], "", i, nil
}
