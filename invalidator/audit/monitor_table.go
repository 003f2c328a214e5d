package audit

import (
	"errors"
	"fmt"

	"github.com/cachesync/cachesync/lease/keys"
)

// monTable is a configured table as the monitor judges its keys.
type monTable struct {
	name  string
	tpls  []*keys.Template
	value string // empty: presence only
	kind  string
}

func newMonTable(name string, t MonitorTable) (*monTable, error) {
	mt := &monTable{name: name, value: t.Value, kind: KindValue}
	if t.Value == "" {
		mt.kind = KindPresence
	}
	for _, s := range t.Keys {
		tpl, err := keys.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", name, err)
		}
		mt.tpls = append(mt.tpls, tpl)
	}
	return mt, nil
}

// renders reports whether one of the table's templates renders key from
// row (a NULL or absent column renders no key, as in the sidecar).
func (t *monTable) renders(row map[string]string, key string) bool {
	for _, tpl := range t.tpls {
		k, err := tpl.Render(func(col string) (string, bool) { v, ok := row[col]; return v, ok })
		if err == nil && k == key {
			return true
		}
	}
	return false
}

// verdict is what the database says of a cached key.
type verdict struct {
	// judged is false when the database cannot say: the key no longer
	// belongs to the row it was invalidated for.
	judged bool
	// want is the value the app should cache (the presence kind: the row's
	// existence, as "" or NoRow); absent means the key should not exist.
	want   string
	absent bool
}

// judge says what key should hold, given the row as it is now (found) and
// the row's identity columns (ident).
func (t *monTable) judge(key string, row map[string]string, found bool, ident map[string]string) verdict {
	if !found {
		// Only a key named by the identity alone is known to have no row now;
		// another key (a name) may belong to another row.
		if t.renders(ident, key) {
			return verdict{judged: true, want: NoRow, absent: true}
		}
		return verdict{}
	}
	if !t.renders(row, key) {
		return verdict{}
	}
	if t.value == "" {
		return verdict{judged: true}
	}
	v, err := RenderValue(t.value, row)
	if err != nil {
		return verdict{} // validated by NewMonitor: cannot happen
	}
	return verdict{judged: true, want: v}
}

// agrees reports whether what memcached holds agrees with v. A stale or
// missing key always does: the next reader refills it.
func (t *monTable) agrees(v verdict, f fetched) bool {
	switch {
	case f.state != cached:
		return true
	case v.absent:
		return false
	case t.value == "":
		return true
	default:
		return string(f.value) == v.want
	}
}

// errNoIdentity means a sample's row lacks a column of its table's
// identity, so it cannot be looked up.
var errNoIdentity = errors.New("row does not carry its identity")
