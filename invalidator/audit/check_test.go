package audit

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/cachesync/cachesync/lease/ring"
	"github.com/cachesync/cachesync/test/cluster"
)

// mcDo sends one request to the server that owns key and returns the first
// reply line.
func mcDo(t *testing.T, r ring.Ring, key, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", r.Servers()[r.Pick(key)])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, req)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	return strings.TrimSpace(line)
}

func set(t *testing.T, r ring.Ring, key, value string) {
	t.Helper()
	if got := mcDo(t, r, key, fmt.Sprintf("set %s 0 0 %d\r\n%s\r\n", key, len(value), value)); got != "STORED" {
		t.Fatalf("set %s: %s", key, got)
	}
}

// TestCheckAgainstRealServers covers each state a key can be in, on a pool
// of two servers so that routing matters, and shows that the check leaves
// a stale item's lease to the next real filler.
func TestCheckAgainstRealServers(t *testing.T) {
	pg := cluster.StartPostgres(t)
	pg.CreateDB(t, "app")
	pg.ExecDB(t, "app", "CREATE TABLE users (id int PRIMARY KEY, name text)")
	pg.ExecDB(t, "app", `INSERT INTO users VALUES (1,'alice'),(2,'bob'),(3,'carol'),(4,'dave'),(5,'eve'),(6,'frank'),(7,NULL),(8,'a b')`)
	servers := []string{cluster.StartMemcached(t).Addr(), cluster.StartMemcached(t).Addr()}
	r, err := ring.New("ketama", servers)
	if err != nil {
		t.Fatal(err)
	}
	set(t, r, "user:1", "1|alice")  // consistent
	set(t, r, "user:2", "2|robert") // inconsistent
	set(t, r, "user:3", "3|carol")
	mcDo(t, r, "user:3", "md user:3 I T30\r\n") // stale, right value
	set(t, r, "user:6", "6|old")
	mcDo(t, r, "user:6", "md user:6 I T30\r\n") // stale, old value: fine
	if got := mcDo(t, r, "user:5", "mg user:5 v c N30\r\n"); !strings.Contains(got, "W") {
		t.Fatalf("placeholder for user:5: %s", got)
	} // an empty lease placeholder: missing
	set(t, r, "name:a%20b", "8|a b") // the key is encoded, the value is not
	set(t, r, "name:alice", "1|alice")
	// user:4, user:7, user:8 and the other names are not cached.

	cfg := DefaultConfig()
	cfg.DSN = pg.DSN("app")
	cfg.Servers = servers
	cfg.Tables = map[string][]string{"public.users": {"user:{id}", "name:{name}"}}
	cfg.Expected = func(table string, row map[string]string) []byte {
		if table != "public.users" {
			t.Errorf("Expected called for %q", table)
		}
		v, err := RenderValue("{id}|{name}", row)
		if err != nil {
			t.Error(err)
		}
		return []byte(v)
	}
	cfg.BatchSize = 3 // several batches per server
	rep, err := Check(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report: %s %v", rep, rep.Examples)
	want := Report{Keys: 15, Cached: 6, Stale: 2, Consistent: 3, Inconsistent: 1}
	if rep.Keys != want.Keys || rep.Cached != want.Cached || rep.Stale != want.Stale ||
		rep.Consistent != want.Consistent || rep.Inconsistent != want.Inconsistent || rep.KeyErrors != 0 {
		t.Fatalf("got %s, want %s", rep, want)
	}
	if len(rep.Examples) != 1 || !strings.Contains(rep.Examples[0], `user:2: cached "2|robert", database says "2|bob"`) {
		t.Fatalf("examples %q", rep.Examples)
	}

	// The check's meta gets won the stale items' leases; it must have handed
	// them back so that the next real filler wins.
	for _, k := range []string{"user:3", "user:6"} {
		if got := mcDo(t, r, k, "mg "+k+" c N30\r\n"); !strings.Contains(got, " W") || !strings.Contains(got, " X") {
			t.Errorf("%s after the check: %q, want the lease (W) on the stale item (X)", k, got)
		}
	}
	// And the placeholder's fill is still the original filler's.
	if got := mcDo(t, r, "user:5", "mg user:5 c N30\r\n"); !strings.Contains(got, " Z") {
		t.Errorf("user:5 after the check: %q, want Z (fill in flight)", got)
	}
}

func TestCheckReportsUnreachableMemcached(t *testing.T) {
	pg := cluster.StartPostgres(t)
	pg.CreateDB(t, "app")
	pg.ExecDB(t, "app", "CREATE TABLE items (id int PRIMARY KEY)")
	pg.ExecDB(t, "app", "INSERT INTO items VALUES (1)")
	cfg := DefaultConfig()
	cfg.DSN = pg.DSN("app")
	cfg.Servers = []string{fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(t))}
	cfg.Tables = map[string][]string{"items": {"item:{id}"}}
	cfg.Expected = func(string, map[string]string) []byte { return nil }
	if _, err := Check(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "dial memcached") {
		t.Fatalf("err = %v, want a dial error", err)
	}
	cfg.Expected = nil
	if _, err := Check(context.Background(), cfg); err == nil {
		t.Fatal("no Expected: want an error")
	}
}
