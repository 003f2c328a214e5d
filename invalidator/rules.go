package invalidator

import (
	"errors"
	"unsafe"

	"github.com/cachesync/cachesync/lease/keys"
	"github.com/cachesync/cachesync/replication"
)

// relRules is a configured table's rule bound to the columns of one Relation
// message, so rendering looks columns up by position.
type relRules struct {
	rel      *replication.Relation
	table    *compiledTable
	colIndex map[string]int
}

func newRelRules(rel *replication.Relation, t *compiledTable) *relRules {
	idx := make(map[string]int, len(rel.Columns))
	for i, c := range rel.Columns {
		idx[c.Name] = i
	}
	return &relRules{rel: rel, table: t, colIndex: idx}
}

// errNull means a template column is NULL in the row: such a row owns no key
// for that template (nothing can have been cached under it).
var errNull = errors.New("column is NULL")

// errNotCarried means the tuple does not carry a column the template needs
// (key-only old tuple, unchanged TOAST value without an old row).
var errNotCarried = errors.New("column not carried by the tuple")

// tuple is one side of a change as render sees it.
type tuple struct {
	vals []replication.Value
	// keyOnly: non-identity columns are placeholders, not values.
	keyOnly bool
	// fallback supplies unchanged TOAST values (the old row of an UPDATE).
	fallback *tuple
}

// value returns column i of the tuple. The string aliases the change's bytes,
// which is safe because keys.Render copies what it keeps and the change stays
// valid for the whole Handler call.
func (r *relRules) value(t *tuple, i int) (string, error) {
	if i >= len(t.vals) || (t.keyOnly && !r.rel.Columns[i].Key) {
		return "", errNotCarried
	}
	v := t.vals[i]
	switch v.Kind {
	case replication.Null:
		return "", errNull
	case replication.Unchanged:
		if t.fallback != nil {
			return r.value(t.fallback, i)
		}
		return "", errNotCarried
	}
	return unsafe.String(unsafe.SliceData(v.Data), len(v.Data)), nil
}

// render renders one template for a tuple. errNull means "no key", any other
// error is a key error of this row.
func (r *relRules) render(tpl *keys.Template, t *tuple) (string, error) {
	var cause error
	key, err := tpl.Render(func(col string) (string, bool) {
		i, ok := r.colIndex[col]
		if !ok {
			cause = errNotCarried
			return "", false
		}
		v, err := r.value(t, i)
		if err != nil {
			cause = err
			return "", false
		}
		return v, true
	})
	if cause != nil {
		return "", cause
	}
	return key, err
}

// tuples returns the sides of a change whose keys it invalidates.
func changeTuples(c *replication.Change) (old, new *tuple) {
	if c.Old != nil {
		old = &tuple{vals: c.Old, keyOnly: c.OldIsKey}
	}
	if c.New != nil {
		new = &tuple{vals: c.New, fallback: old}
	}
	return old, new
}
