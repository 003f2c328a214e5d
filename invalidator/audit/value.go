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
	err := scanValue(template, func(lit string) { b.WriteString(lit) }, func(col string) { b.WriteString(row[col]) })
	if err != nil {
		return "", err
	}
	return b.String(), nil
}

// ValueColumns lists the columns a value template uses, in order of first
// use, so callers can check them against the table before scanning.
func ValueColumns(template string) ([]string, error) {
	var cols []string
	err := scanValue(template, func(string) {}, func(col string) {
		if !slices.Contains(cols, col) {
			cols = append(cols, col)
		}
	})
	if err != nil {
		return nil, err
	}
	return cols, nil
}

// scanValue walks a value template from left to right, calling lit for each
// run of literal text and col for each {column}, and fails at the first
// brace that does not form {column}.
func scanValue(template string, lit, col func(string)) error {
	for i := 0; i < len(template); {
		switch template[i] {
		case '{':
			end := strings.IndexByte(template[i:], '}')
			if end <= 1 {
				return fmt.Errorf("value template %q: unbalanced or empty {} at byte %d", template, i)
			}
			c := template[i+1 : i+end]
			if strings.ContainsAny(c, "{") {
				return fmt.Errorf("value template %q: nested { at byte %d", template, i)
			}
			col(c)
			i += end + 1
		case '}':
			return fmt.Errorf("value template %q: unmatched } at byte %d", template, i)
		default:
			j := i + 1
			for j < len(template) && template[j] != '{' && template[j] != '}' {
				j++
			}
			lit(template[i:j])
			i = j
		}
	}
	return nil
}
