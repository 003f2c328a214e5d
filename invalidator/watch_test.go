package invalidator

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cachesync/cachesync/test/cluster"
)

// runWatch runs Watch for cfg's tables until stop is called (at the
// latest when the test ends).
func runWatch(t *testing.T, cfg Config, wc WatchConfig) (inv *Invalidator, logs *observer.ObservedLogs, stop func()) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	cfg.Logger = zap.New(core)
	inv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inv.Watch(ctx, wc) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Watch: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return inv, logs, stop
}

func waitLogged(t *testing.T, logs *observer.ObservedLogs, msg string, also ...string) {
	t.Helper()
	cluster.Eventually(t, 20*time.Second, func() error {
		for _, e := range logs.FilterMessageSnippet(msg).All() {
			text := fmt.Sprint(e.ContextMap())
			ok := true
			for _, a := range also {
				ok = ok && strings.Contains(text, a)
			}
			if ok {
				return nil
			}
		}
		return fmt.Errorf("no log %q with %q", msg, also)
	})
}

// Watch on a real primary: a dropped table is a problem until it exists
// again, then it is added back to the publication; a role that may not add
// it says so once, loudly.
func TestWatch(t *testing.T) {
	pg := cluster.StartPostgres(t)
	pg.Exec(t, `CREATE TABLE items (id int PRIMARY KEY)`)
	pg.Exec(t, `CREATE PUBLICATION pub FOR TABLE items WITH (publish_via_partition_root = true)`)
	cfg := testConfig()
	cfg.Tables = map[string]TableRule{"public.items": {Keys: []string{"item:{id}"}}}
	wc := WatchConfig{DSN: pg.DSN("postgres"), Publication: "pub", Interval: 50 * time.Millisecond}
	inv, logs, stop := runWatch(t, cfg, wc)

	pg.Exec(t, `DROP TABLE items`)
	waitLogged(t, logs, "configured table cannot be invalidated", "public.items does not exist")
	cluster.Eventually(t, 20*time.Second, func() error {
		if p := inv.SchemaProblems(); len(p) != 1 || !strings.Contains(p[0], "public.items does not exist") {
			return fmt.Errorf("problems %q", p)
		}
		return nil
	})
	pg.Exec(t, `CREATE TABLE items (id int PRIMARY KEY)`)
	waitLogged(t, logs, "had left the publication", "public.items")
	cluster.Eventually(t, 20*time.Second, func() error {
		if p := inv.SchemaProblems(); len(p) != 0 {
			return fmt.Errorf("problems %q", p)
		}
		return nil
	})
	if n := pg.QueryString(t, "postgres", `SELECT count(*)::text FROM pg_publication_tables WHERE pubname = 'pub' AND tablename = 'items'`); n != "1" {
		t.Fatalf("items in the publication: %s", n)
	}
	if n := len(logs.FilterMessageSnippet("configured table cannot be invalidated").All()); n != 1 {
		t.Fatalf("%d problem lines for one problem", n)
	}

	stop()

	// A role that does not own the table cannot add it: one error line,
	// however many looks.
	pg.Exec(t, `CREATE ROLE watcher LOGIN`)
	pg.Exec(t, `GRANT SELECT ON ALL TABLES IN SCHEMA public TO watcher`)
	wc.DSN = strings.Replace(pg.DSN("postgres"), "postgres@", "watcher@", 1)
	pg.Exec(t, `DROP TABLE items; CREATE TABLE items (id int PRIMARY KEY)`)
	pg.Exec(t, `GRANT SELECT ON items TO watcher`)
	_, logs2, _ := runWatch(t, cfg, wc)
	waitLogged(t, logs2, "catalog watch failing", "must be owner")
	// Many more looks (50 ms apart), each failing the same way.
	since := pg.QueryString(t, "postgres", `SELECT now()::text`)
	cluster.Eventually(t, 20*time.Second, func() error {
		n := pg.QueryString(t, "postgres", `SELECT count(*)::text FROM pg_stat_activity WHERE usename = 'watcher' AND query_start > $1::timestamptz + interval '500 ms'`, since)
		if n != "1" {
			return fmt.Errorf("watcher has not queried for 500 ms more yet")
		}
		return nil
	})
	if n := len(logs2.FilterMessageSnippet("catalog watch failing").All()); n != 1 {
		t.Fatalf("%d lines for one failing state", n)
	}
}
