package invalidator

import (
	"fmt"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5/pgtype"
	"go.uber.org/zap"

	"github.com/cachesync/cachesync/replication"
)

// colType is a column's type as a Relation message gives it.
type colType struct {
	oid uint32
	mod int32
}

// checkKeyTypes warns, once per change, when a key template column of t
// has another type than in the table's previous Relation message: the key
// text is the column's text form, so ALTER COLUMN ... TYPE can change it
// (int 27 becomes numeric(6,1) 27.0) and later changes then invalidate
// keys that nothing cached, while the cached ones stay.
func (inv *Invalidator) checkKeyTypes(rel *replication.Relation, t *compiledTable) {
	prev := inv.keyTypes[t.name]
	cur := make(map[string]colType)
	var cols []string
	for _, tpl := range t.templates {
		for _, c := range tpl.Columns() {
			if !slices.Contains(cols, c) {
				cols = append(cols, c)
			}
		}
	}
	for _, c := range rel.Columns {
		if slices.Contains(cols, c.Name) {
			cur[c.Name] = colType{oid: c.TypeOID, mod: c.TypeMod}
		}
	}
	inv.keyTypes[t.name] = cur
	for _, col := range cols {
		old, had := prev[col]
		now, has := cur[col]
		if !had || !has || old == now {
			continue
		}
		inv.typeChanges.Add(1)
		inv.log.Warn("key column changed type: the key text may change with it (e.g. 27 becomes 27.0), so values cached under keys rendered from the old text are not invalidated by later changes; flush memcached or let those keys expire",
			zap.Stringer("table", t.name), zap.String("column", col),
			zap.String("old_type", typeName(old)), zap.String("new_type", typeName(now)))
	}
}

var (
	typeMapOnce sync.Once
	typeMap     *pgtype.Map
)

// typeName is the SQL name of a built-in type with its modifier, as
// format_type prints it; other types are named by OID.
func typeName(c colType) string {
	typeMapOnce.Do(func() { typeMap = pgtype.NewMap() })
	name := fmt.Sprintf("type OID %d", c.oid)
	if tt, ok := typeMap.TypeForOID(c.oid); ok {
		name = tt.Name
	}
	if c.mod < 0 {
		return name
	}
	switch c.oid {
	case pgtype.NumericOID:
		m := c.mod - 4
		return fmt.Sprintf("%s(%d,%d)", name, (m>>16)&0xffff, m&0xffff)
	case pgtype.VarcharOID, pgtype.BPCharOID:
		return fmt.Sprintf("%s(%d)", name, c.mod-4)
	}
	return fmt.Sprintf("%s(%d)", name, c.mod)
}
