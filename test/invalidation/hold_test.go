package invalidation

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

// TestRenamedColumnHoldsCalmly renames a key template's column. The
// sidecar holds (never skips) and, over 10 s of holding, reconnects and
// logs only a few times, without stack traces, while readyz and api/status
// name the table, the column and both ways out. Another region's sidecar
// (its own slot, templates without that column) keeps invalidating. Way out
// (a), the config fixed and the sidecar restarted, invalidates the held
// change and those after it.
func TestRenamedColumnHoldsCalmly(t *testing.T) {
	e := newEnv(t)
	e.exec(t, "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)")
	e.exec(t, "ALTER TABLE users REPLICA IDENTITY FULL")
	e.exec(t, "INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 20) g")
	toPG := cluster.NewTCPProxy(t, e.pg.Addr())
	cfg := e.sidecar("delete", map[string][]string{"public.users": {"user:{id}", "user_by_name:{name}"}})
	cfg.Source = fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", toPG.Addr(), db)
	sc := fleet.StartSidecar(t, cfg)
	other := e.sidecar("delete", map[string][]string{"public.users": {"other:{id}"}})
	other.Region, other.Slot = "other", "cachesync_other"
	oc := fleet.StartSidecar(t, other)
	kc := cluster.DialKeys(t, e.mc.Addr())

	e.exec(t, "ALTER TABLE users RENAME COLUMN name TO full_name")
	e.exec(t, "UPDATE users SET full_name = 'renamed1' WHERE id = 1")
	cluster.Eventually(t, 30*time.Second, func() error { return requireHeld(sc, "public.users", "name") })
	st, err := sc.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Held == nil || st.Held.Table != "public.users" || strings.Join(st.Held.Columns, ",") != "name" || len(st.Held.WaysOut) != 2 {
		t.Fatalf("api/status held: %+v", st.Held)
	}

	lines, conns := strings.Count(sc.Logs(), "\n"), toPG.Accepted()
	kc.SetAll(t, []string{"other:2"})
	e.exec(t, "UPDATE users SET full_name = 'renamed2' WHERE id = 2")
	window := time.NewTicker(250 * time.Millisecond)
	defer window.Stop()
	for start := time.Now(); time.Since(start) < 10*time.Second; <-window.C {
		if err := requireHeld(sc, "public.users", "name"); err != nil {
			t.Fatalf("hold not kept: %v", err)
		}
	}
	newLines, reconnects := strings.Count(sc.Logs(), "\n")-lines, toPG.Accepted()-conns
	t.Logf("held for 10s: %d connections to the primary, %d log lines", reconnects, newLines)
	if reconnects > 6 || newLines > 1 {
		t.Fatalf("held for 10s with %d connections and %d log lines, want at most 6 and 1:\n%s", reconnects, newLines, sc.Logs())
	}
	if n := strings.Count(sc.Logs(), "replication held"); n != 1 {
		t.Fatalf("%d hold lines for one hold", n)
	}
	if strings.Contains(sc.Logs(), "stacktrace") {
		t.Fatalf("stack trace in the log of an expected condition:\n%s", sc.Logs())
	}
	if err := kc.AllInvalidated([]string{"other:2"}); err != nil {
		t.Fatalf("another region's sidecar was held too: %v", err)
	}
	oc.WaitReady(t, 10*time.Second)

	// Way out (a): the config names the new column; restart.
	keys := []string{"user:1", "user_by_name:renamed1", "user:2", "user_by_name:renamed2", "user:3", "user_by_name:renamed3"}
	kc.SetAll(t, keys)
	sc.Kill()
	fixed := sc.Config
	fixed.Tables = map[string][]string{"public.users": {"user:{id}", "user_by_name:{full_name}"}}
	sc = fleet.LaunchSidecar(t, fixed)
	sc.WaitReady(t, time.Minute)
	e.exec(t, "UPDATE users SET full_name = 'renamed3' WHERE id = 3")
	e.waitConfirmed(t, e.insertLSN(t), time.Minute)
	if err := kc.AllInvalidated(keys); err != nil {
		t.Fatalf("after the config was fixed: %v", err)
	}
}

// TestWeakenedIdentitySkip weakens a table's replica identity (FULL to
// DEFAULT) under a template on a non-key column: the WAL written meanwhile
// cannot name the old keys, so fixing the table does not release the
// hold. Way out (b), `cachesync skip`, flushes the region and moves the
// slot past it: the running sidecar resumes, later changes are invalidated.
func TestWeakenedIdentitySkip(t *testing.T) {
	e := newEnv(t)
	e.exec(t, "CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL)")
	e.exec(t, "ALTER TABLE accounts REPLICA IDENTITY FULL")
	e.exec(t, "INSERT INTO accounts SELECT g, 'a' || g FROM generate_series(1, 20) g")
	sc := fleet.StartSidecar(t, e.sidecar("delete", map[string][]string{"public.accounts": {"acct:{id}", "acct_by_email:{email}"}}))
	kc := cluster.DialKeys(t, e.mc.Addr())

	e.exec(t, "ALTER TABLE accounts REPLICA IDENTITY DEFAULT")
	e.exec(t, "UPDATE accounts SET email = 'changed1' WHERE id = 1")
	cluster.Eventually(t, 30*time.Second, func() error { return requireHeld(sc, "public.accounts", "email") })
	e.exec(t, "ALTER TABLE accounts REPLICA IDENTITY FULL")
	e.exec(t, "UPDATE accounts SET email = 'changed2' WHERE id = 2")
	if err := requireHeld(sc, "public.accounts", "email"); err != nil {
		t.Fatalf("fixing the table released the hold of WAL already written: %v", err)
	}

	stale := []string{"acct:1", "acct_by_email:a1", "acct:7"} // only a flush removes acct:7
	kc.SetAll(t, stale)
	out, err := exec.Command(cluster.Binary(t), "skip", "--config", sc.ConfigPath, "--timeout", "2m").CombinedOutput()
	if err != nil {
		t.Fatalf("cachesync skip: %v\n%s", err, out)
	}
	t.Logf("cachesync skip:\n%s", out)
	if err := kc.AllInvalidated(stale); err != nil {
		t.Fatalf("skip did not flush the region: %v", err)
	}
	sc.WaitReady(t, time.Minute)
	if !strings.Contains(sc.Logs(), "replication released") {
		t.Fatalf("release not logged:\n%s", sc.Logs())
	}
	later := []string{"acct:3", "acct_by_email:a3", "acct_by_email:changed3"}
	kc.SetAll(t, later)
	e.exec(t, "UPDATE accounts SET email = 'changed3' WHERE id = 3")
	e.waitConfirmed(t, e.insertLSN(t), time.Minute)
	if err := kc.AllInvalidated(later); err != nil {
		t.Fatalf("after skip: %v", err)
	}
	// A restarted sidecar does not go back to the skipped change.
	sc.Kill()
	sc = sc.Relaunch(t)
	sc.WaitReady(t, time.Minute)
}

// requireHeld checks that readyz says the sidecar holds a change of table
// (column col) and gives both ways out.
func requireHeld(sc *fleet.Sidecar, table, col string) error {
	err := sc.Ready()
	if err == nil {
		return fmt.Errorf("readyz 200 while a change is held")
	}
	for _, want := range []string{"held at", table, col, "way out (a)", "way out (b)", "cachesync skip"} {
		if !strings.Contains(err.Error(), want) {
			return fmt.Errorf("readyz does not say %q: %v", want, err)
		}
	}
	return nil
}
