package invalidator

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cachesync/cachesync/replication"
)

// identityProblem returns the template columns of t that the old row of an
// UPDATE or DELETE would not carry, given which columns the replica identity
// carries (all == REPLICA IDENTITY FULL).
func identityProblem(t *compiledTable, all bool, carried map[string]bool) []string {
	if all {
		return nil
	}
	var missing []string
	for _, tpl := range t.templates {
		for _, c := range tpl.Columns() {
			if !carried[c] && !contains(missing, c) {
				missing = append(missing, c)
			}
		}
	}
	sort.Strings(missing)
	return missing
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// unknownColumns returns template columns the table does not have.
func unknownColumns(t *compiledTable, exists map[string]bool) []string {
	var unknown []string
	for _, tpl := range t.templates {
		for _, c := range tpl.Columns() {
			if !exists[c] && !contains(unknown, c) {
				unknown = append(unknown, c)
			}
		}
	}
	sort.Strings(unknown)
	return unknown
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
	carried := make(map[string]bool, len(rel.Columns))
	var carriedList []string
	for _, c := range rel.Columns {
		exists[c.Name] = true
		if c.Key && rel.ReplicaIdentity != 'n' {
			carried[c.Name] = true
			carriedList = append(carriedList, c.Name)
		}
	}
	if unknown := unknownColumns(t, exists); len(unknown) > 0 {
		return fmt.Errorf("table %s has no column %s used by its key templates", t.name, strings.Join(unknown, ", "))
	}
	if missing := identityProblem(t, rel.ReplicaIdentity == 'f', carried); len(missing) > 0 {
		return identityError(t.name, rel.ReplicaIdentity, missing, carriedList)
	}
	return nil
}
