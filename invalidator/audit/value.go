package audit

import (
	"fmt"
	"slices"
	"strings"
)

// RenderValue renders a value template ("{id}|{name}") for a row, WITHOUT
// the percent-encoding of keys: it is what the app stores, not a key. A
// column the row lacks (NULL) renders as the empty string, as a Go app
// formatting a NULL would; braces that do not form {column} are an error.
func RenderValue(template string, row map[string]string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(template); {
		c := template[i]
		switch c {
		case '{':
			end := strings.IndexByte(template[i:], '}')
			if end <= 1 {
				return "", fmt.Errorf("value template %q: unbalanced or empty {} at byte %d", template, i)
			}
			col := template[i+1 : i+end]
			if strings.ContainsAny(col, "{") {
				return "", fmt.Errorf("value template %q: nested { at byte %d", template, i)
			}
			b.WriteString(row[col])
			i += end + 1
		case '}':
			return "", fmt.Errorf("value template %q: unmatched } at byte %d", template, i)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// ValueColumns lists the columns a value template uses, in order of first
// use, so callers can check them against the table before scanning.
func ValueColumns(template string) ([]string, error) {
	if _, err := RenderValue(template, nil); err != nil {
		return nil, err
	}
	var cols []string
	for i := 0; i < len(template); i++ {
		if template[i] != '{' {
			continue
		}
		end := strings.IndexByte(template[i:], '}')
		if col := template[i+1 : i+end]; !slices.Contains(cols, col) {
			cols = append(cols, col)
		}
		i += end
	}
	return cols, nil
}
