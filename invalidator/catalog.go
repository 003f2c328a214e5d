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

// relationsQuery lists the columns of the table and of its leaf partitions
// (the table first), each with whether the relation's replica identity
// carries it: the primary key for DEFAULT, the chosen index for USING
// INDEX. One query per table, however many partitions it has.
const relationsQuery = `
SELECT n.nspname::text, c.relname::text, c.relreplident::text, a.attname::text,
       EXISTS (SELECT 1 FROM pg_catalog.pg_index i
               WHERE i.indrelid = c.oid AND a.attnum = ANY (i.indkey)
                 AND CASE c.relreplident WHEN 'd' THEN i.indisprimary WHEN 'i' THEN i.indisreplident ELSE false END)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.oid = $1 OR c.oid IN (SELECT relid FROM pg_catalog.pg_partition_tree($1::oid::regclass) WHERE isleaf)
ORDER BY c.oid <> $1, n.nspname, c.relname, a.attnum`

// catalogRel is one relation of a configured table as the catalog says.
type catalogRel struct {
	name    replication.Table
	ident   byte
	exists  map[string]bool
	carried []string
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
	rels, err := relations(ctx, conn, oid)
	if err != nil {
		return tc, fmt.Errorf("partitions of table %s: %w", t.name, err)
	}
	var gaps []identityGap
	for i, rel := range rels {
		if i > 0 {
			tc.leaves = append(tc.leaves, rel.name)
		}
		gap, problem := checkColumns(t, rel.name, rel.ident, rel.exists, rel.carried)
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

// relations runs relationsQuery for the table oid.
func relations(ctx context.Context, conn *pgx.Conn, oid uint32) ([]*catalogRel, error) {
	rows, err := conn.Query(ctx, relationsQuery, oid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var rels []*catalogRel
	var cur *catalogRel
	for rows.Next() {
		var name replication.Table
		var ident, col string
		var carried bool
		if err := rows.Scan(&name.Schema, &name.Name, &ident, &col, &carried); err != nil {
			return nil, err
		}
		if cur == nil || cur.name != name {
			cur = &catalogRel{name: name, exists: map[string]bool{}}
			if ident != "" { // relreplident is one character; guard all the same
				cur.ident = ident[0]
			}
			rels = append(rels, cur)
		}
		cur.exists[col] = true
		if carried {
			cur.carried = append(cur.carried, col)
		}
	}
	return rels, rows.Err()
}
