package replication

import (
	"context"
	"errors"
	"testing"

	"github.com/cachesync/cachesync/test/cluster"
	"github.com/jackc/pgx/v5"
)

func TestSQLConnReconnectsAfterRestart(t *testing.T) {
	t.Parallel()
	p := cluster.StartPostgres(t)
	c := NewSQLConn(p.DSN("postgres"), nil)
	defer c.Close()
	ctx := context.Background()
	var pid1, pid2 int
	if err := c.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid1); err != nil {
		t.Fatal(err)
	}
	// A statement error on a healthy connection keeps the connection.
	var x int
	if err := c.QueryRow(ctx, `SELECT 1 WHERE false`).Scan(&x); !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("want ErrNoRows, got %v", err)
	}
	if err := c.Exec(ctx, `SELECT no_such_function()`); err == nil {
		t.Fatal("bad statement accepted")
	}
	if err := c.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid2); err != nil || pid2 != pid1 {
		t.Fatalf("connection replaced after statement errors: %d -> %d (%v)", pid1, pid2, err)
	}
	p.Kill(t)
	if err := c.Exec(ctx, `SELECT 1`); err == nil {
		t.Fatal("query on a killed server succeeded")
	}
	p.Start(t)
	cluster.Eventually(t, wait, func() error { return c.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid2) })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Exec(ctx, `SELECT 1`); err == nil {
		t.Fatal("query after Close succeeded")
	}
}
