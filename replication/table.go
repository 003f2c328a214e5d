package replication

import (
	"fmt"
	"strings"
)

// Table is a table's name as PostgreSQL's catalog stores it: the schema and
// the relation name, exact (case and all), unquoted. It is comparable, so
// it can key a map.
type Table struct {
	Schema, Name string
}

// ParseTable parses a table name as PostgreSQL reads one in SQL:
// schema.table, each part either unquoted (folded to lower case, so Users
// is users) or double-quoted (kept exactly, "" standing for one "), e.g.
// public."my-table". A name without a schema is in public.
func ParseTable(s string) (Table, error) {
	parts, err := splitIdentifiers(s)
	if err != nil {
		return Table{}, fmt.Errorf("table %q: %w", s, err)
	}
	switch len(parts) {
	case 1:
		return Table{Schema: "public", Name: parts[0]}, nil
	case 2:
		return Table{Schema: parts[0], Name: parts[1]}, nil
	}
	return Table{}, fmt.Errorf("table %q: want schema.table (quote a name that contains a dot: public.\"a.b\")", s)
}

// String is the name as SQL, each part quoted only where PostgreSQL needs
// it, so it can be pasted into a statement and parses back to t.
func (t Table) String() string { return QuoteIdent(t.Schema) + "." + QuoteIdent(t.Name) }

// splitIdentifiers splits a dotted SQL name into its identifiers.
func splitIdentifiers(s string) ([]string, error) {
	var parts []string
	for {
		var id string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for {
				j := strings.IndexByte(s[i:], '"')
				if j < 0 {
					return nil, fmt.Errorf("unterminated quoted identifier")
				}
				b.WriteString(s[i : i+j])
				i += j + 1
				if !strings.HasPrefix(s[i:], `"`) {
					break
				}
				b.WriteByte('"') // "" inside quotes is one "
				i++
			}
			id, s = b.String(), s[i:]
			if id == "" {
				return nil, fmt.Errorf("empty quoted identifier")
			}
		} else {
			n := 0
			for n < len(s) && isIdentByte(s[n], n == 0) {
				n++
			}
			if n == 0 {
				return nil, fmt.Errorf("want an identifier at %q (quote names with other characters: \"my-table\")", s)
			}
			id, s = foldLower(s[:n]), s[n:]
		}
		parts = append(parts, id)
		if s == "" {
			return parts, nil
		}
		if s[0] != '.' {
			return nil, fmt.Errorf("unexpected %q after %q (quote names with other characters: \"my-table\")", s, id)
		}
		s = s[1:]
	}
}

// isIdentByte reports whether c may appear in an unquoted identifier (at
// its start when first): letters, _, bytes of non-ASCII characters, and
// after the first, digits and $.
func isIdentByte(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c >= 0x80:
		return true
	case c >= '0' && c <= '9', c == '$':
		return !first
	}
	return false
}

// foldLower folds ASCII letters only, as PostgreSQL does for unquoted
// identifiers in a UTF-8 database.
func foldLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// QuoteIdent quotes an identifier when PostgreSQL would not read it back
// unquoted as itself: anything but lower case letters, digits, _ and $ (not
// leading), or a reserved word.
func QuoteIdent(s string) string {
	plain := s != "" && !reserved[s]
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 'a' && c <= 'z' || c == '_' || i > 0 && (c >= '0' && c <= '9' || c == '$')
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// reserved is PostgreSQL 15's reserved key words (and those that cannot be
// a table or schema name unquoted): such a name must be quoted.
var reserved = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`all analyse analyze and any array as asc asymmetric authorization
		binary both case cast check collate collation column concurrently constraint create cross
		current_catalog current_date current_role current_schema current_time current_timestamp
		current_user default deferrable desc distinct do else end except false fetch for foreign
		freeze from full grant group having ilike in initially inner intersect into is isnull join
		lateral leading left like limit localtime localtimestamp natural not notnull null offset on
		only or order outer overlaps placing primary references returning right select session_user
		similar some symmetric table tablesample then to trailing true union unique user using
		variadic verbose when where window with`) {
		m[w] = true
	}
	return m
}()
