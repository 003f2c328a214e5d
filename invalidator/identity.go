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

// identityGap is one relation (the configured table, or one of its leaf
// partitions) whose replica identity ident does not carry template columns
// missing in the old row of an UPDATE or DELETE; carried is what it carries.
type identityGap struct {
	rel              replication.Table
	ident            byte
	missing, carried []string
}

// checkColumns checks one relation of configured table t: its columns
// (exists) and those its replica identity ident carries in the old row of
// an UPDATE or DELETE (carried). Every template column must exist and,
// unless the identity is FULL, be carried: a gap is returned when not.
func checkColumns(t *compiledTable, rel replication.Table, ident byte, exists map[string]bool, carried []string) (*identityGap, error) {
	if unknown := columnsNotIn(t, func(c string) bool { return exists[c] }); len(unknown) > 0 {
		if rel != t.name {
			return nil, fmt.Errorf("table %s: partition %s has no column %s used by the key templates", t.name, rel, strings.Join(unknown, ", "))
		}
		return nil, fmt.Errorf("table %s has no column %s used by its key templates", t.name, strings.Join(unknown, ", "))
	}
	if ident == 'f' {
		return nil, nil
	}
	if missing := columnsNotIn(t, func(c string) bool { return slices.Contains(carried, c) }); len(missing) > 0 {
		return &identityGap{rel: rel, ident: ident, missing: missing, carried: carried}, nil
	}
	return nil, nil
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

// identityError names the table, the columns, each relation at fault and
// the fix: one ALTER TABLE per relation, since a partitioned table's
// REPLICA IDENTITY does not reach its partitions.
func identityError(t replication.Table, gaps []identityGap) error {
	var missing, why, fix []string
	for _, g := range gaps {
		for _, c := range g.missing {
			if !slices.Contains(missing, c) {
				missing = append(missing, c)
			}
		}
		w := fmt.Sprintf("REPLICA IDENTITY %s carries %s", identityName(g.ident), listOrNone(g.carried))
		if g.rel != t {
			w = "partition " + g.rel.String() + ": " + w
		}
		why = append(why, w)
		fix = append(fix, "ALTER TABLE "+g.rel.String()+" REPLICA IDENTITY FULL;")
	}
	sort.Strings(missing)
	return fmt.Errorf("table %s: key templates use columns %s that an UPDATE or DELETE does not carry (%s); run: %s",
		t, strings.Join(missing, ", "), strings.Join(why, "; "), strings.Join(fix, " "))
}

func listOrNone(cols []string) string {
	if len(cols) == 0 {
		return "no columns"
	}
	return strings.Join(cols, ", ")
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
	gap, err := checkColumns(t, t.name, rel.ReplicaIdentity, exists, carried)
	if err != nil || gap == nil {
		return err
	}
	return identityError(t.name, []identityGap{*gap})
}
