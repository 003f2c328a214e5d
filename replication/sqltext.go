package replication

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Queries on a replication connection must use the simple protocol (the
// walsender has no extended protocol), so values are quoted here
// (identifiers with pgx.Identifier.Sanitize).

func quoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

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
