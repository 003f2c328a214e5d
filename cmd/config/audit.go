package config

import (
	"fmt"

	"github.com/cachesync/cachesync/invalidator/audit"
)

// Audit is the consistency check of this region (`cachesync check`, and
// the demo's stale check): its memcached compared with dsn ("" = the
// database the first source's readers fill from), for every table whose
// value template says what the app caches. Skipped names the other tables,
// which cannot be compared; a.Tables is empty when every table is skipped.
func (c Config) Audit(dsn string, examples int) (a audit.Config, skipped []string, err error) {
	a = audit.DefaultConfig()
	a.DSN = dsn
	if a.DSN == "" && len(c.Postgres) > 0 {
		a.DSN = c.Postgres[0].ReadDSN()
	}
	a.Servers, a.Hash, a.MaxExamples = c.Memcache.Servers, c.Memcache.Hash, examples
	a.Tables = map[string][]string{}
	values := map[string]string{}
	for _, name := range TableNames(c.Tables) {
		t := c.Tables[name]
		if t.Value == "" {
			skipped = append(skipped, name)
			continue
		}
		if _, err := audit.ValueColumns(t.Value); err != nil {
			return a, nil, fmt.Errorf("tables.%s.value: %w", name, err)
		}
		a.Tables[name], values[name] = t.Keys, t.Value
	}
	a.Expected = func(table string, row map[string]string) []byte {
		v, _ := audit.RenderValue(values[table], row) // validated above
		return []byte(v)
	}
	return a, skipped, nil
}
