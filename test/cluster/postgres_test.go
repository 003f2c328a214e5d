package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestPostgresPrimaryAndDelayedReplica(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t, WithPGConf("max_connections", "50"))
	if got := pg.QueryString(t, "postgres", "SHOW wal_level"); got != "logical" {
		t.Fatalf("wal_level = %q, want logical", got)
	}
	if got := pg.QueryString(t, "postgres", "SHOW max_connections"); got != "50" {
		t.Fatalf("max_connections = %q, want 50 (WithPGConf)", got)
	}
	pg.CreateDB(t, "app")
	pg.ExecDB(t, "app", "CREATE TABLE users (id int PRIMARY KEY, name text); INSERT INTO users VALUES (1, 'before')")

	replica := pg.StartReplica(t, WithApplyDelay(300*time.Millisecond))
	if replica.Port() == pg.Port() {
		t.Fatalf("replica shares the primary's port %d", pg.Port())
	}
	if got := replica.QueryString(t, "app", "SELECT pg_is_in_recovery()"); got != "t" {
		t.Fatalf("replica pg_is_in_recovery() = %q", got)
	}
	if got := replica.QueryString(t, "app", "SHOW recovery_min_apply_delay"); got != "300ms" {
		t.Fatalf("recovery_min_apply_delay = %q", got)
	}

	pg.ExecDB(t, "app", "UPDATE users SET name = $1 WHERE id = $2", "after", 1)
	Eventually(t, 30*time.Second, func() error {
		var name string
		if err := replica.QueryRow("app", "SELECT name FROM users WHERE id = 1").Scan(&name); err != nil {
			return err
		}
		if name != "after" {
			return fmt.Errorf("replica still has name %q", name)
		}
		return nil
	})

	// The replication DSN must open a walsender connection, which is what
	// the logical replication consumer needs.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, pg.ReplicationDSN("app"))
	if err != nil {
		t.Fatalf("replication connect: %v", err)
	}
	defer conn.Close(ctx)
	res := conn.Exec(ctx, "IDENTIFY_SYSTEM")
	rs, err := res.ReadAll()
	if err != nil {
		t.Fatalf("IDENTIFY_SYSTEM: %v", err)
	}
	if len(rs) != 1 || len(rs[0].Rows) != 1 || string(rs[0].Rows[0][3]) != "app" {
		t.Fatalf("IDENTIFY_SYSTEM answered %v", rs)
	}
}

func TestPostgresKillAndStartKeepsCommittedData(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t)
	pg.Exec(t, "CREATE TABLE t (v int); INSERT INTO t VALUES (42)")
	port := pg.Port()

	pg.Kill(t)
	if c, err := net.DialTimeout("tcp", pg.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatalf("port %d still accepts connections after Kill", port)
	}
	if err := pg.QueryRow("postgres", "SELECT 1").Scan(new(int)); err == nil {
		t.Fatal("query succeeded against a killed server")
	}

	pg.Start(t)
	if pg.Port() != port {
		t.Fatalf("port changed across restart: %d -> %d", port, pg.Port())
	}
	if got := pg.QueryString(t, "postgres", "SELECT sum(v) FROM t"); got != "42" {
		t.Fatalf("after crash restart sum(v) = %q, want 42", got)
	}

	pg.Stop(t)
	pg.Start(t)
	if got := pg.QueryString(t, "postgres", "SELECT count(*) FROM t"); got != "1" {
		t.Fatalf("after clean restart count = %q, want 1", got)
	}
}

func TestQueryStringReportsNoRows(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t)
	_, err := pg.queryString("postgres", "SELECT 1 WHERE false")
	if err == nil {
		t.Fatal("no error for an empty result")
	}
	if got, err := pg.queryString("postgres", "SELECT NULL::int"); err != nil || got != "" {
		t.Fatalf("NULL = %q, %v; want empty string", got, err)
	}
	if got, err := pg.queryString("postgres", "SELECT $1::int + 1", 41); err != nil || got != strconv.Itoa(42) {
		t.Fatalf("with args = %q, %v", got, err)
	}
}

func TestPollReturnsLastError(t *testing.T) {
	t.Parallel()
	n := 0
	if err := Poll(time.Second, func() error {
		n++
		if n < 3 {
			return fmt.Errorf("try %d", n)
		}
		return nil
	}); err != nil || n != 3 {
		t.Fatalf("poll = %v after %d tries, want nil after 3", err, n)
	}
	last := errors.New("still failing")
	if err := Poll(30*time.Millisecond, func() error { return last }); err != last {
		t.Fatalf("poll = %v, want the last error", err)
	}
}
