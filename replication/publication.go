package replication

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnsurePublication creates publication name FOR TABLE tables when it does
// not exist, and adds the tables it lacks when it does. It uses the simple
// protocol, so conn may be a replication connection (for a *pgx.Conn, pass
// its PgConn()).
func EnsurePublication(ctx context.Context, conn *pgconn.PgConn, name string, tables []string) error {
	// quoted[i] is tables[i] quoted for SQL; plain[i] is its unquoted
	// schema.table, as pg_publication_tables lists it.
	quoted := make([]string, len(tables))
	plain := make([]string, len(tables))
	for i, t := range tables {
		s, n, err := splitTable(t)
		if err != nil {
			return fmt.Errorf("publication %s: %w", name, err)
		}
		quoted[i] = pgx.Identifier{s, n}.Sanitize()
		plain[i] = s + "." + n
	}
	qname := pgx.Identifier{name}.Sanitize()
	rows, err := queryText(ctx, conn, "SELECT puballtables FROM pg_publication WHERE pubname = "+quoteLiteral(name))
	if err != nil {
		return fmt.Errorf("look up publication %s: %w", name, err)
	}
	if len(rows) == 0 {
		if len(tables) == 0 {
			return fmt.Errorf("publication %s does not exist and no tables are configured", name)
		}
		_, err = conn.Exec(ctx, "CREATE PUBLICATION "+qname+" FOR TABLE "+strings.Join(quoted, ", ")).ReadAll()
		if err == nil {
			return nil
		}
		// Another node created it at the same moment: fall through and
		// add what it lacks.
		if pe := (*pgconn.PgError)(nil); !errors.As(err, &pe) || pe.Code != "42710" {
			return fmt.Errorf("create publication %s: %w", name, err)
		}
	} else if rows[0][0] == "t" {
		return nil
	}
	rows, err = queryText(ctx, conn, "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = "+quoteLiteral(name))
	if err != nil {
		return fmt.Errorf("list tables of publication %s: %w", name, err)
	}
	have := make(map[string]bool, len(rows))
	for _, r := range rows {
		have[r[0]+"."+r[1]] = true
	}
	var missing []string
	for i, p := range plain {
		if !have[p] {
			missing = append(missing, quoted[i])
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := conn.Exec(ctx, "ALTER PUBLICATION "+qname+" ADD TABLE "+strings.Join(missing, ", ")).ReadAll(); err != nil {
		return fmt.Errorf("add tables %s to publication %s: %w", strings.Join(missing, ", "), name, err)
	}
	return nil
}
