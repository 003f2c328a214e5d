package invalidator

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cachesync/cachesync/replication"
)

// CheckCatalog checks the configured tables against the database's catalog:
// every table exists, every template column exists, and the replica identity
// makes UPDATE and DELETE carry every column a template uses. For a
// partitioned table that is the identity of the table itself (pgoutput marks
// the old row by it when publishing via the root) and of every leaf
// partition (the WAL carries what the leaf's identity says). Its error names
// each table and partition at fault and the statements that fix them.
func (inv *Invalidator) CheckCatalog(ctx context.Context, conn *pgx.Conn) error {
	var errs []error
	for _, name := range inv.Tables() {
		tc, err := inspectTable(ctx, conn, inv.tables[name])
		if err == nil {
			err = tc.problem
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// tableCatalog is what the catalog says of one configured table now.
type tableCatalog struct {
	exists bool
	// leaves are its leaf partitions (none for a table that is not
	// partitioned).
	leaves []replication.Table
	// problem: a missing table or column, or replica identities that do not
	// carry every template column, with the fix.
	problem error
}

const tableQuery = `
SELECT c.oid
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`

// relationsQuery lists the table itself first, then its leaf partitions.
const relationsQuery = `
SELECT c.oid, n.nspname::text, c.relname::text, c.relreplident::text
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = $1 OR c.oid IN (SELECT relid FROM pg_catalog.pg_partition_tree($1::oid::regclass) WHERE isleaf)
ORDER BY c.oid <> $1, n.nspname, c.relname`

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

type catalogRel struct {
	oid   uint32
	name  replication.Table
	ident string
}

// inspectTable reads t's relations from the catalog; its error is a failed
// query, a problem of the table is in the result.
func inspectTable(ctx context.Context, conn *pgx.Conn, t *compiledTable) (tableCatalog, error) {
	var tc tableCatalog
	var oid uint32
	err := conn.QueryRow(ctx, tableQuery, t.name.Schema, t.name.Name).Scan(&oid)
	if errors.Is(err, pgx.ErrNoRows) {
		tc.problem = fmt.Errorf("table %s does not exist (configured in tables)", t.name)
		return tc, nil
	}
	if err != nil {
		return tc, fmt.Errorf("look up table %s: %w", t.name, err)
	}
	tc.exists = true
	rows, err := conn.Query(ctx, relationsQuery, oid)
	if err != nil {
		return tc, fmt.Errorf("partitions of table %s: %w", t.name, err)
	}
	rels, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalogRel, error) {
		var c catalogRel
		err := r.Scan(&c.oid, &c.name.Schema, &c.name.Name, &c.ident)
		return c, err
	})
	if err != nil {
		return tc, fmt.Errorf("partitions of table %s: %w", t.name, err)
	}
	var gaps []identityGap
	for i, rel := range rels {
		if i > 0 {
			tc.leaves = append(tc.leaves, rel.name)
		}
		exists, carried, err := identityColumns(ctx, conn, rel)
		if err != nil {
			return tc, err
		}
		var id byte // relreplident is one character; guard all the same
		if rel.ident != "" {
			id = rel.ident[0]
		}
		gap, problem := checkColumns(t, rel.name, id, exists, carried)
		if problem != nil && tc.problem == nil {
			tc.problem = problem
		}
		if gap != nil {
			gaps = append(gaps, *gap)
		}
	}
	if len(gaps) > 0 && tc.problem == nil {
		tc.problem = identityError(t.name, gaps)
	}
	return tc, nil
}

// identityColumns returns rel's columns and those its replica identity
// carries.
func identityColumns(ctx context.Context, conn *pgx.Conn, rel catalogRel) (exists map[string]bool, carried []string, err error) {
	rows, err := conn.Query(ctx, identityColumnsQuery, rel.oid, rel.ident)
	if err != nil {
		return nil, nil, fmt.Errorf("columns of table %s: %w", rel.name, err)
	}
	exists = map[string]bool{}
	for rows.Next() {
		var col string
		var inIdentity bool
		if err := rows.Scan(&col, &inIdentity); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("columns of table %s: %w", rel.name, err)
		}
		exists[col] = true
		if inIdentity {
			carried = append(carried, col)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("columns of table %s: %w", rel.name, err)
	}
	return exists, carried, nil
}
