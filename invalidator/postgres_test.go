package invalidator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/replication"
	"github.com/cachesync/cachesync/test/cluster"
	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
)

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// TestPrimary runs the checks that need one real primary.
func TestPrimary(t *testing.T) {
	pg := cluster.StartPostgres(t)
	t.Run("CheckCatalog", func(t *testing.T) { testCheckCatalog(t, pg) })
	t.Run("PrimaryVisibility", func(t *testing.T) { testPrimaryVisibility(t, pg) })
}

// TestReplica runs the gate checks that need a primary and its replica.
func TestReplica(t *testing.T) {
	pg := cluster.StartPostgres(t)
	replica := pg.StartReplica(t, cluster.WithApplyDelay(time.Second))
	t.Run("WaitsForReplay", func(t *testing.T) { testReplicaGateWaitsForReplay(t, pg, replica) })
	t.Run("HoldsWhileDown", func(t *testing.T) { testReplicaGateHoldsWhileDown(t, pg, replica) })
}

func testCheckCatalog(t *testing.T, pg *cluster.Postgres) {
	pg.Exec(t, `CREATE TABLE users (id int PRIMARY KEY, name text, email text)`)
	pg.Exec(t, `CREATE TABLE full_users (id int PRIMARY KEY, name text)`)
	pg.Exec(t, `ALTER TABLE full_users REPLICA IDENTITY FULL`)
	pg.Exec(t, `CREATE TABLE idx_users (id int, name text NOT NULL, bio text)`)
	pg.Exec(t, `CREATE UNIQUE INDEX idx_users_name ON idx_users (name)`)
	pg.Exec(t, `ALTER TABLE idx_users REPLICA IDENTITY USING INDEX idx_users_name`)
	pg.Exec(t, `CREATE TABLE nothing_users (id int PRIMARY KEY)`)
	pg.Exec(t, `ALTER TABLE nothing_users REPLICA IDENTITY NOTHING`)
	// Partitioned: the parent FULL, one leaf DEFAULT (ALTER TABLE on the
	// parent does not reach its partitions), one sub-partitioned leaf FULL.
	pg.Exec(t, `CREATE TABLE events (id int, day date, name text, PRIMARY KEY (id, day)) PARTITION BY RANGE (day)`)
	pg.Exec(t, `CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`)
	pg.Exec(t, `CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') PARTITION BY RANGE (day)`)
	pg.Exec(t, `CREATE TABLE events_2025_h1 PARTITION OF events_2025 FOR VALUES FROM ('2025-01-01') TO ('2025-07-01')`)
	pg.Exec(t, `ALTER TABLE events REPLICA IDENTITY FULL`)
	pg.Exec(t, `ALTER TABLE events_2025_h1 REPLICA IDENTITY FULL`)
	pg.Exec(t, `CREATE TABLE "my-table" (id int PRIMARY KEY)`)
	conn := connect(t, pg.DSN("postgres"))

	check := func(tables map[string]TableRule) error {
		cfg := testConfig()
		cfg.Tables = tables
		inv, err := New(cfg)
		if err != nil {
			return err
		}
		return inv.CheckCatalog(context.Background(), conn)
	}
	ok := []map[string]TableRule{
		{"public.users": {Keys: []string{"user:{id}"}}},
		{"users": {Keys: []string{"user:{id}"}}},
		{"full_users": {Keys: []string{"u:{id}", "n:{name}"}}},
		{"idx_users": {Keys: []string{"n:{name}"}}},
		{"nothing_users": {Keys: []string{"static"}}},
		{"events": {Keys: []string{"e:{id}:{day}"}}},
		{"events_2025_h1": {Keys: []string{"e:{name}"}}},
		{`public."my-table"`: {Keys: []string{"m:{id}"}}},
	}
	for _, tables := range ok {
		if err := check(tables); err != nil {
			t.Errorf("%v: %v", tables, err)
		}
	}
	bad := []struct {
		tables map[string]TableRule
		want   []string
	}{
		{map[string]TableRule{"public.nope": {Keys: []string{"x:{id}"}}}, []string{"public.nope", "does not exist"}},
		{map[string]TableRule{"users": {Keys: []string{"x:{nick}"}}}, []string{"public.users", "no column nick"}},
		{map[string]TableRule{"users": {Keys: []string{"user:{id}", "user_by_name:{name}"}}},
			[]string{"public.users", "name", "DEFAULT carries id", "ALTER TABLE public.users REPLICA IDENTITY FULL;"}},
		{map[string]TableRule{"idx_users": {Keys: []string{"x:{id}"}}},
			[]string{"public.idx_users", "USING INDEX carries name", "ALTER TABLE public.idx_users REPLICA IDENTITY FULL;"}},
		{map[string]TableRule{"nothing_users": {Keys: []string{"x:{id}"}}},
			[]string{"NOTHING carries no columns", "ALTER TABLE public.nothing_users REPLICA IDENTITY FULL;"}},
		// The parent is FULL, its leaf events_2024 is not: named with its fix,
		// and nothing for the parent or the FULL leaf.
		{map[string]TableRule{"events": {Keys: []string{"e:{name}"}}},
			[]string{"table public.events: ", "partition public.events_2024: REPLICA IDENTITY DEFAULT carries id, day",
				"run: ALTER TABLE public.events_2024 REPLICA IDENTITY FULL;"}},
		{map[string]TableRule{"public.my-table": {Keys: []string{"x:{id}"}}}, []string{`quote names with other characters: "my-table"`}},
		{map[string]TableRule{`public."My-Table"`: {Keys: []string{"x:{id}"}}}, []string{`public."My-Table" does not exist`}},
	}
	for _, c := range bad {
		err := check(c.tables)
		if err != nil && strings.Contains(err.Error(), "events") &&
			(strings.Contains(err.Error(), "ALTER TABLE public.events ") || strings.Contains(err.Error(), "events_2025_h1")) {
			t.Errorf("fix covers tables that need none: %v", err)
		}
		if err == nil {
			t.Errorf("%v: accepted", c.tables)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", c.tables, err, w)
			}
		}
	}
}

func lsnOf(t *testing.T, pg *cluster.Postgres, sql string) replication.LSN {
	t.Helper()
	l, err := pglogrepl.ParseLSN(pg.QueryString(t, "postgres", sql))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// With a replica that applies WAL a second late, Wait returns only once the
// committed row is visible on the replica.
func testReplicaGateWaitsForReplay(t *testing.T, pg, replica *cluster.Postgres) {
	pg.Exec(t, `CREATE TABLE kv (k int PRIMARY KEY, v text)`)
	pg.Exec(t, `INSERT INTO kv VALUES (1, 'old')`)
	rc := connect(t, replica.DSN("postgres"))
	cluster.Eventually(t, 20*time.Second, func() error {
		var v string
		err := rc.QueryRow(context.Background(), `SELECT v FROM kv WHERE k = 1`).Scan(&v)
		if err == nil && v != "old" {
			err = fmt.Errorf("replica shows %q", v)
		}
		return err
	})
	cfg := DefaultReplicaGateConfig()
	cfg.DSN = replica.DSN("postgres")
	g := NewReplicaGate(cfg)
	defer g.Close()
	defer g.Close()

	before := lsnOf(t, pg, `SELECT pg_current_wal_insert_lsn()::text`)
	pg.Exec(t, `UPDATE kv SET v = 'new' WHERE k = 1`)
	// The commit record starts after `before`; the gate is asked about
	// that commit (as Begin's final_lsn would say), with End unknown.
	commit := lsnOf(t, pg, `SELECT pg_current_wal_insert_lsn()::text`) - 1
	if commit <= before {
		t.Fatalf("no WAL written: %s %s", before, commit)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := passOne(ctx, g, Pending{Commit: commit}); err != nil {
		t.Fatal(err)
	}
	if v := replica.QueryString(t, "postgres", `SELECT v FROM kv WHERE k = 1`); v != "new" {
		t.Fatalf("gate passed while the replica still shows %q", v)
	}
	st := g.State()
	if !st.Up || st.ReplayLSN <= commit {
		t.Fatalf("state %+v", st)
	}
}

// The gate holds while the replica is unreachable and passes once it is
// reachable again and has replayed.
func testReplicaGateHoldsWhileDown(t *testing.T, pg, replica *cluster.Postgres) {
	proxy := cluster.NewTCPProxy(t, replica.Addr())
	cfg := DefaultReplicaGateConfig()
	cfg.DSN = strings.Replace(replica.DSN("postgres"), replica.Addr(), proxy.Addr(), 1)
	g := NewReplicaGate(cfg)
	defer g.Close()
	proxy.Cut()
	pg.Exec(t, `CREATE TABLE t2 (i int)`)
	// Just before the end of the commit record: replay must pass it.
	target := lsnOf(t, pg, `SELECT pg_current_wal_insert_lsn()::text`) - 1
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	err := passOne(ctx, g, Pending{Commit: target})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || g.State().Up {
		t.Fatalf("gate with the replica cut off: %v, state %+v", err, g.State())
	}
	proxy.Heal()
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := passOne(ctx, g, Pending{Commit: target}); err != nil {
		t.Fatal(err)
	}
	if !g.State().Up {
		t.Fatal("replica not reported up")
	}
}

// A transaction that is really open (so its xid is in no snapshot as
// committed) holds the gate until it commits.
func testPrimaryVisibility(t *testing.T, pg *cluster.Postgres) {
	pg.Exec(t, `CREATE TABLE t (i int)`)
	open := connect(t, pg.DSN("postgres"))
	ctx := context.Background()
	tx, err := open.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var xid int64
	if err := tx.QueryRow(ctx, `INSERT INTO t VALUES (1) RETURNING pg_current_xact_id()::text::bigint`).Scan(&xid); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultPrimaryVisibilityConfig()
	cfg.DSN = pg.DSN("postgres")
	g := NewPrimaryVisibility(cfg)
	defer g.Close()
	// An older, committed transaction is visible at once.
	var old int64
	if err := connect(t, pg.DSN("postgres")).QueryRow(ctx,
		`SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1`).Scan(&old); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := passOne(wctx, g, Pending{Xids: []uint32{uint32(old)}}); err != nil {
		t.Fatalf("committed xid %d: %v", old, err)
	}
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	err = passOne(short, g, Pending{Xids: []uint32{uint32(old), uint32(xid)}})
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("open xid %d passed the gate: %v", xid, err)
	}
	done := make(chan error, 1)
	go func() { done <- passOne(wctx, g, Pending{Xids: []uint32{uint32(xid)}}) }()
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// passOne asks g about one batch.
func passOne(ctx context.Context, g Gate, p Pending) error {
	_, err := g.Passed(ctx, []Pending{p})
	return err
}
