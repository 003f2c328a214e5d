package replication

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Queries on a replication connection must use the simple protocol (the
// walsender has no extended protocol), so values are quoted here
// (identifiers with pgx.Identifier.Sanitize).

func quoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// splitTable splits "schema.table" (a name without a dot is in public).
func splitTable(t string) (schema, table string, err error) {
	schema, table, ok := strings.Cut(t, ".")
	if !ok {
		schema, table = "public", t
	}
	if schema == "" || table == "" {
		return "", "", fmt.Errorf("table %q: want schema.table", t)
	}
	return schema, table, nil
}

// queryText runs one simple-protocol statement and returns its rows as
// text (NULL as "").
func queryText(ctx context.Context, conn *pgconn.PgConn, sql string) ([][]string, error) {
	res, err := conn.Exec(ctx, sql).ReadAll()
	if err != nil {
		return nil, err
	}
	var rows [][]string
	for _, r := range res {
		if r.Err != nil {
			return nil, r.Err
		}
		for _, row := range r.Rows {
			vals := make([]string, len(row))
			for i, v := range row {
				vals[i] = string(v)
			}
			rows = append(rows, vals)
		}
	}
	return rows, nil
}
