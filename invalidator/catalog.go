package invalidator

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// CheckCatalog checks the configured tables against the database's catalog:
// every table exists, every template column exists, and the replica identity
// makes UPDATE and DELETE carry every column a template uses. Its error names
// each table at fault and the statement that fixes it.
func (inv *Invalidator) CheckCatalog(ctx context.Context, conn *pgx.Conn) error {
	names := make([]string, 0, len(inv.tables))
	for n := range inv.tables {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		if err := checkTable(ctx, conn, inv.tables[n]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

const tableQuery = `
SELECT c.oid, c.relreplident::text
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`

// identityColumnsQuery lists every column with whether the replica identity
// carries it: the primary key for DEFAULT, the chosen index for USING INDEX.
const identityColumnsQuery = `
SELECT a.attname::text,
       EXISTS (SELECT 1 FROM pg_catalog.pg_index i
               WHERE i.indrelid = a.attrelid AND a.attnum = ANY (i.indkey)
                 AND CASE $2 WHEN 'd' THEN i.indisprimary WHEN 'i' THEN i.indisreplident ELSE false END)
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`

func checkTable(ctx context.Context, conn *pgx.Conn, t *compiledTable) error {
	schema, name, _ := strings.Cut(t.name, ".")
	var oid uint32
	var ident string
	err := conn.QueryRow(ctx, tableQuery, schema, name).Scan(&oid, &ident)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("table %s does not exist (configured in tables)", t.name)
	}
	if err != nil {
		return fmt.Errorf("look up table %s: %w", t.name, err)
	}
	rows, err := conn.Query(ctx, identityColumnsQuery, oid, ident)
	if err != nil {
		return fmt.Errorf("columns of table %s: %w", t.name, err)
	}
	exists := map[string]bool{}
	var carried []string
	for rows.Next() {
		var col string
		var inIdentity bool
		if err := rows.Scan(&col, &inIdentity); err != nil {
			rows.Close()
			return fmt.Errorf("columns of table %s: %w", t.name, err)
		}
		exists[col] = true
		if inIdentity {
			carried = append(carried, col)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("columns of table %s: %w", t.name, err)
	}
	var id byte // relreplident is one character; guard all the same
	if ident != "" {
		id = ident[0]
	}
	return checkColumns(t, id, exists, carried)
}
