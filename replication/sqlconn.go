package replication

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"
)

// SQLConn is one lazily (re)connected SQL connection shared by pollers. Calls
// are serialised; after a connection-level error the connection is dropped
// and the next call reconnects. It logs once per state change (connected,
// lost), not once per failed attempt.
type SQLConn struct {
	dsn string
	log *zap.Logger

	mu     sync.Mutex
	conn   *pgx.Conn
	up     bool
	tried  bool
	closed bool
}

// NewSQLConn returns a SQLConn for dsn; it connects on first use.
func NewSQLConn(dsn string, logger *zap.Logger) *SQLConn {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &SQLConn{dsn: dsn, log: logger.With(zap.String("dsn", RedactDSN(dsn)))}
}

var errSQLConnClosed = errors.New("sql connection closed")

// Do runs fn with the connection, reconnecting first if needed. fn must not
// keep conn after it returns.
func (c *SQLConn) Do(ctx context.Context, fn func(ctx context.Context, conn *pgx.Conn) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errSQLConnClosed
	}
	if c.conn == nil {
		conn, err := pgx.Connect(ctx, c.dsn)
		if err != nil {
			msg := ScrubSecrets(err.Error())
			c.setUp(false, msg)
			return fmt.Errorf("connect: %w", errors.New(msg))
		}
		c.conn = conn
		c.setUp(true, "")
	}
	err := fn(ctx, c.conn)
	if err != nil && isConnError(c.conn, err) {
		_ = c.conn.Close(context.Background()) // already broken
		c.conn = nil
		c.setUp(false, ScrubSecrets(err.Error()))
	}
	return err
}

// isConnError tells a broken connection from a statement that failed on a
// healthy one (a PgError, with the connection still usable).
func isConnError(conn *pgx.Conn, err error) bool {
	if conn.IsClosed() {
		return true
	}
	// pgx closes the connection on network errors and interrupted queries;
	// a FATAL error (admin shutdown, ...) ends the session before pgx
	// notices.
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Severity == "FATAL" || pe.Severity == "PANIC" || pe.Code[:2] == "57" || pe.Code[:2] == "08"
	}
	return false
}

// setUp records the connection state; errText (scrubbed) is why it is down.
func (c *SQLConn) setUp(up bool, errText string) {
	first := !c.tried
	c.tried = true
	if up == c.up && !first {
		return
	}
	c.up = up
	switch {
	case up && first:
		c.log.Debug("sql connection established")
	case up:
		c.log.Info("sql connection restored")
	default:
		c.log.Warn("sql connection unavailable; will retry", zap.String("error", errText))
	}
}

// Exec runs a statement.
func (c *SQLConn) Exec(ctx context.Context, sql string, args ...any) error {
	return c.Do(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, sql, args...)
		return err
	})
}

// Row is a query that runs when scanned, like pgx.Row.
type Row struct {
	c    *SQLConn
	ctx  context.Context
	sql  string
	args []any
}

// QueryRow prepares a single-row query; it runs on Scan.
func (c *SQLConn) QueryRow(ctx context.Context, sql string, args ...any) *Row {
	return &Row{c: c, ctx: ctx, sql: sql, args: args}
}

// Scan runs the query and scans its first row into dest (pgx.ErrNoRows when
// there is none).
func (r *Row) Scan(dest ...any) error {
	return r.c.Do(r.ctx, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, r.sql, r.args...).Scan(dest...)
	})
}

// Close closes the connection; it is safe to call more than once.
func (c *SQLConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close(context.Background())
	c.conn = nil
	if err != nil {
		return fmt.Errorf("close sql connection: %w", err)
	}
	return nil
}
