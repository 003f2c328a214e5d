package replication

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// EnsurePublication creates publication name FOR TABLE tables when it does
// not exist, and adds the tables it lacks when it does. It uses the simple
// protocol, so conn may be a replication connection (for a *pgx.Conn, pass
// its PgConn()).
func EnsurePublication(ctx context.Context, conn *pgconn.PgConn, name string, tables []string) error {
	quoted := make([]string, len(tables))
	for i, t := range tables {
		q, err := quoteTable(t)
		if err != nil {
			return fmt.Errorf("publication %s: %w", name, err)
		}
		quoted[i] = q
	}
	rows, err := queryText(ctx, conn, "SELECT puballtables FROM pg_publication WHERE pubname = "+quoteLiteral(name))
	if err != nil {
		return fmt.Errorf("look up publication %s: %w", name, err)
	}
	if len(rows) == 0 {
		if len(tables) == 0 {
			return fmt.Errorf("publication %s does not exist and no tables are configured", name)
		}
		_, err = conn.Exec(ctx, "CREATE PUBLICATION "+quoteIdent(name)+" FOR TABLE "+strings.Join(quoted, ", ")).ReadAll()
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
	for i, t := range tables {
		s, n, _ := splitTable(t)
		if !have[s+"."+n] {
			missing = append(missing, quoted[i])
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := conn.Exec(ctx, "ALTER PUBLICATION "+quoteIdent(name)+" ADD TABLE "+strings.Join(missing, ", ")).ReadAll(); err != nil {
		return fmt.Errorf("add tables %s to publication %s: %w", strings.Join(missing, ", "), name, err)
	}
	return nil
}
