package invalidation

import (
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

// TestRowChangesInvalidateExactlyTheirKeys runs in stale mode (the default):
// touched keys must turn stale, every other key must stay a plain hit.
func TestRowChangesInvalidateExactlyTheirKeys(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, email text);
		ALTER TABLE users REPLICA IDENTITY FULL;
		CREATE TABLE audit (id int PRIMARY KEY, note text);
		INSERT INTO users VALUES (1, 'alice', 'a@x'), (2, 'bob', 'b@x'), (3, 'carol', 'c@x')`)
	cfg := e.sidecar("stale", map[string][]string{"public.users": {"user:{id}", "user_by_name:{name}"}})
	fleet.StartSidecar(t, cfg)
	mc := cluster.DialKeys(t, e.mc.Addr())

	steps := []struct {
		name       string
		sql        string
		want       []string // must be invalidated
		bystanders []string // must stay valid
	}{
		{"insert", "INSERT INTO users VALUES (4, 'dave', 'd@x')",
			[]string{"user:4", "user_by_name:dave"},
			[]string{"user:1", "user:2", "user:3", "user:5", "user_by_name:alice", "user_by_name:bob", "user_by_name:carol"}},
		{"update other column", "UPDATE users SET email = 'a2@x' WHERE id = 1",
			[]string{"user:1", "user_by_name:alice"},
			[]string{"user:2", "user:3", "user:4", "user_by_name:bob", "user_by_name:carol", "user_by_name:dave"}},
		{"update key column", "UPDATE users SET name = 'alicia' WHERE id = 1",
			[]string{"user:1", "user_by_name:alice", "user_by_name:alicia"},
			[]string{"user:2", "user:3", "user:4", "user_by_name:bob", "user_by_name:carol", "user_by_name:dave"}},
		{"update primary key", "UPDATE users SET id = 5 WHERE id = 4",
			[]string{"user:4", "user:5", "user_by_name:dave"},
			[]string{"user:1", "user:2", "user:3", "user_by_name:alicia", "user_by_name:bob", "user_by_name:carol"}},
		{"delete", "DELETE FROM users WHERE id = 2",
			[]string{"user:2", "user_by_name:bob"},
			[]string{"user:1", "user:3", "user:5", "user_by_name:alicia", "user_by_name:carol", "user_by_name:dave"}},
		{"unconfigured table", "INSERT INTO audit VALUES (1, 'user:1'); UPDATE audit SET note = 'user:3'",
			nil,
			[]string{"user:1", "user:3", "user:5", "user_by_name:alicia", "user_by_name:carol", "user_by_name:dave"}},
		{"no-op update of no row", "UPDATE users SET name = 'x' WHERE id = 99",
			nil,
			[]string{"user:1", "user:3", "user:5", "user_by_name:alicia", "user_by_name:carol", "user_by_name:dave"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			mc.SetAll(t, append(append([]string{}, s.want...), s.bystanders...))
			e.exec(t, s.sql)
			end := e.insertLSN(t)
			if len(s.want) > 0 {
				cluster.Eventually(t, 30*time.Second, func() error { return mc.AllInvalidated(s.want) })
			}
			// Once the slot has passed the change, everything it causes has
			// been delivered: what is still valid now stays valid.
			e.waitConfirmed(t, end, 30*time.Second)
			mc.RequireValid(t, s.bystanders)
			st, err := mc.States(s.want)
			if err != nil {
				t.Fatal(err)
			}
			for i, k := range s.want {
				if st[i] != cluster.KeyStale {
					t.Errorf("%s is %s, want stale (invalidate: stale marks, it does not delete)", k, st[i])
				}
			}
		})
	}
}
