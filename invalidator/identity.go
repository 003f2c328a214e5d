package invalidator

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/cachesync/cachesync/replication"
)

// columnsNotIn returns, sorted, the distinct template columns of t for which
// has is false.
func columnsNotIn(t *compiledTable, has func(col string) bool) []string {
	var out []string
	for _, tpl := range t.templates {
		for _, c := range tpl.Columns() {
			if !has(c) && !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	sort.Strings(out)
	return out
}

// checkColumns checks a table's columns (exists) and the columns its replica
// identity ident carries in the old row of an UPDATE or DELETE (carried):
// every template column must exist and, unless the identity is FULL, be
// carried.
func checkColumns(t *compiledTable, ident byte, exists map[string]bool, carried []string) error {
	if unknown := columnsNotIn(t, func(c string) bool { return exists[c] }); len(unknown) > 0 {
		return fmt.Errorf("table %s has no column %s used by its key templates", t.name, strings.Join(unknown, ", "))
	}
	if ident == 'f' {
		return nil
	}
	if missing := columnsNotIn(t, func(c string) bool { return slices.Contains(carried, c) }); len(missing) > 0 {
		return identityError(t.name, ident, missing, carried)
	}
	return nil
}

func identityName(ident byte) string {
	switch ident {
	case 'd':
		return "DEFAULT"
	case 'f':
		return "FULL"
	case 'i':
		return "USING INDEX"
	case 'n':
		return "NOTHING"
	}
	return fmt.Sprintf("%q", ident)
}

// identityError names the table, the columns and the fix.
func identityError(table string, ident byte, missing, carried []string) error {
	return fmt.Errorf("table %s: key templates use columns %s that an UPDATE or DELETE does not carry "+
		"(REPLICA IDENTITY %s carries %s); run: ALTER TABLE %s REPLICA IDENTITY FULL;",
		table, strings.Join(missing, ", "), identityName(ident), listOrNone(carried), quoteQualified(table))
}

func listOrNone(cols []string) string {
	if len(cols) == 0 {
		return "no columns"
	}
	return strings.Join(cols, ", ")
}

// quoteQualified quotes each part of schema.table when PostgreSQL needs it,
// so the printed ALTER TABLE can be pasted as is.
func quoteQualified(table string) string {
	parts := strings.SplitN(table, ".", 2)
	for i, p := range parts {
		parts[i] = quoteIdent(p)
	}
	return strings.Join(parts, ".")
}

func quoteIdent(s string) string {
	plain := s != ""
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			plain = false
		}
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// checkRelation checks a Relation message of a configured table: a later
// ALTER TABLE can drop a column or weaken the replica identity after
// CheckCatalog passed.
func checkRelation(rel *replication.Relation, t *compiledTable) error {
	exists := make(map[string]bool, len(rel.Columns))
	var carried []string
	for _, c := range rel.Columns {
		exists[c.Name] = true
		if c.Key && rel.ReplicaIdentity != 'n' {
			carried = append(carried, c.Name)
		}
	}
	return checkColumns(t, rel.ReplicaIdentity, exists, carried)
}
