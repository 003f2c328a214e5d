package local

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// queryTimeout bounds one helper query so a hung server fails the caller
// instead of hanging it.
const queryTimeout = 30 * time.Second

// Each helper call opens its own connection: the server may be killed and
// restarted between calls, and callers may use helpers concurrently.
func (p *Postgres) withConn(db string, f func(ctx context.Context, c *pgx.Conn) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	c, err := pgx.Connect(ctx, p.DSN(db))
	if err != nil {
		return fmt.Errorf("connect %s/%s: %w", p.Addr(), db, err)
	}
	defer c.Close(context.Background())
	return f(ctx, c)
}

// Exec runs sql on database db. Without args, sql may hold several
// statements.
func (p *Postgres) Exec(db, sql string, args ...any) error {
	err := p.withConn(db, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, sql, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("exec %q on %s: %w", sql, db, err)
	}
	return nil
}

// CreateDB creates database name.
func (p *Postgres) CreateDB(name string) error {
	return p.Exec("postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
}

// QueryRow returns a row whose Scan runs the query on database db.
func (p *Postgres) QueryRow(db, sql string, args ...any) pgx.Row {
	return lazyRow{p: p, db: db, sql: sql, args: args}
}

type lazyRow struct {
	p    *Postgres
	db   string
	sql  string
	args []any
}

func (r lazyRow) Scan(dest ...any) error {
	return r.p.withConn(r.db, func(ctx context.Context, c *pgx.Conn) error {
		if err := c.QueryRow(ctx, r.sql, r.args...).Scan(dest...); err != nil {
			return fmt.Errorf("query %q: %w", r.sql, err)
		}
		return nil
	})
}

// QueryString returns the first column of the first row in its text form
// ("" for NULL); no row is an error (pgx.ErrNoRows).
func (p *Postgres) QueryString(db, sql string, args ...any) (string, error) {
	var out string
	err := p.withConn(db, func(ctx context.Context, c *pgx.Conn) error {
		// The simple protocol returns text for every type, so any column
		// can be read as a string without knowing its type.
		rows, err := c.Query(ctx, sql, append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return pgx.ErrNoRows
		}
		if v := rows.RawValues(); len(v) > 0 && v[0] != nil {
			out = string(v[0])
		}
		rows.Close()
		return rows.Err()
	})
	if err != nil {
		return "", fmt.Errorf("query %q on %s: %w", sql, db, err)
	}
	return out, nil
}
