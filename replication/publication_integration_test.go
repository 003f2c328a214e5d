package replication

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cachesync/cachesync/test/cluster"
)

// replConn is a replication connection, as the stream's setup uses.
func replConn(t *testing.T, p *cluster.Postgres) *pgconn.PgConn {
	t.Helper()
	cfg, err := pgconn.ParseConfig(p.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["replication"] = "database"
	c, err := pgconn.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// flushMessages reads the flush messages a test_decoding slot has seen
// since the last call.
func flushMessages(t *testing.T, p *cluster.Postgres, slot string) []string {
	t.Helper()
	s := p.QueryString(t, "postgres", `SELECT coalesce(string_agg(data, E'\n'), '') FROM pg_logical_slot_get_changes($1, NULL, NULL)
		WHERE data LIKE 'message:%'`, slot)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "prefix: "+FlushPrefix) {
			out = append(out, l)
		}
	}
	return out
}

func TestSyncPublication(t *testing.T) {
	t.Parallel()
	p := cluster.StartPostgres(t)
	p.Exec(t, `CREATE TABLE events (id int, day date, PRIMARY KEY (id, day)) PARTITION BY RANGE (day)`)
	p.Exec(t, `CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`)
	p.Exec(t, `CREATE TABLE "my-table" (id int PRIMARY KEY)`)
	p.Exec(t, `CREATE TABLE plain (id int PRIMARY KEY)`)
	p.Exec(t, `SELECT pg_create_logical_replication_slot('watch', 'test_decoding')`)
	conn := replConn(t, p)
	ctx := context.Background()
	events, mine, plain := Table{"public", "events"}, Table{"public", "my-table"}, Table{"public", "plain"}
	leaf := Table{"public", "events_2024"}

	// Created publishing via the root; the restart loop of the old check
	// (the parent never listed in pg_publication_tables without via-root)
	// is gone: a second sync changes nothing.
	res, err := SyncPublication(ctx, conn, "cs", []Table{events, mine})
	if err != nil || !res.Created {
		t.Fatalf("create: %+v %v", res, err)
	}
	if v := p.QueryString(t, "postgres", `SELECT pubviaroot::text FROM pg_publication WHERE pubname = 'cs'`); v != "true" {
		t.Fatalf("pubviaroot = %s", v)
	}
	for i := 0; i < 2; i++ {
		if res, err := SyncPublication(ctx, conn, "cs", []Table{events, mine}); err != nil || res.Changed() {
			t.Fatalf("sync %d of a complete publication: %+v %v", i, res, err)
		}
	}
	flushMessages(t, p, "watch")

	// A table dropped and re-created leaves the publication: added again,
	// with a flush message in the same transaction; a missing one is
	// reported, not an error.
	p.Exec(t, `DROP TABLE "my-table"`)
	res, err = SyncPublication(ctx, conn, "cs", []Table{events, mine})
	if err != nil || len(res.Missing) != 1 || res.Missing[0] != mine || res.Changed() {
		t.Fatalf("dropped: %+v %v", res, err)
	}
	p.Exec(t, `CREATE TABLE "my-table" (id int PRIMARY KEY)`)
	res, err = SyncPublication(ctx, conn, "cs", []Table{events, mine})
	if err != nil || len(res.Added) != 1 || res.Added[0] != mine {
		t.Fatalf("re-created: %+v %v", res, err)
	}
	if m := flushMessages(t, p, "watch"); len(m) != 1 || !strings.Contains(m[0], `public."my-table" not in publication cs`) {
		t.Fatalf("flush messages after the re-add: %q", m)
	}

	// An existing publication without via-root is switched, with a flush
	// message (changes before it came under the partitions' names).
	p.Exec(t, `CREATE PUBLICATION old FOR TABLE events`)
	res, err = SyncPublication(ctx, conn, "old", []Table{events})
	if err != nil || !res.ViaRootSet || len(res.Added) != 0 {
		t.Fatalf("old publication: %+v %v", res, err)
	}
	if v := p.QueryString(t, "postgres", `SELECT pubviaroot::text FROM pg_publication WHERE pubname = 'old'`); v != "true" {
		t.Fatalf("pubviaroot = %s", v)
	}
	if m := flushMessages(t, p, "watch"); len(m) != 1 || !strings.Contains(m[0], "publish_via_partition_root") {
		t.Fatalf("flush messages after the switch: %q", m)
	}
	// A role that may not switch it is refused, with the statement to run.
	p.Exec(t, `CREATE PUBLICATION theirs FOR TABLE events`)
	p.Exec(t, `CREATE ROLE app LOGIN`)
	cfg, err := pgconn.ParseConfig(strings.Replace(p.DSN("postgres"), "postgres@", "app@", 1))
	if err != nil {
		t.Fatal(err)
	}
	app, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)
	_, err = SyncPublication(ctx, app, "theirs", []Table{events})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "ALTER PUBLICATION theirs SET (publish_via_partition_root = true);") ||
		!strings.Contains(err.Error(), "pg_logical_emit_message(true, 'cachesync.flush'") {
		t.Fatalf("switch refused: %v", err)
	}

	// Without a partitioned table configured, the mode is left alone.
	p.Exec(t, `CREATE PUBLICATION plainpub FOR TABLE plain`)
	if res, err := SyncPublication(ctx, conn, "plainpub", []Table{plain}); err != nil || res.Changed() {
		t.Fatalf("plain: %+v %v", res, err)
	}

	// A partition configured by its own name while the publication
	// publishes its parent via the root would never match: refused.
	_, err = SyncPublication(ctx, conn, "cs", []Table{events, leaf})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "configure public.events instead of public.events_2024") {
		t.Fatalf("leaf of a published root: %v", err)
	}
	// Alone, it is added and published under its own name.
	res, err = SyncPublication(ctx, conn, "leafpub", []Table{leaf})
	if err != nil || !res.Created {
		t.Fatalf("leaf alone: %+v %v", res, err)
	}
	if n := p.QueryString(t, "postgres", `SELECT string_agg(schemaname || '.' || tablename, ',') FROM pg_publication_tables WHERE pubname = 'leafpub'`); n != "public.events_2024" {
		t.Fatalf("leafpub publishes %s", n)
	}
}
