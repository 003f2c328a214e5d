package invalidation

import (
	"bufio"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

// TestConsistencyMonitorFindsWrongValues runs the shipped sidecar with its
// consistency monitor on every key: refills that bypassed leases with an
// old value, and values left for deleted rows of a table checked for
// presence only, are found and named on /api/status and /metrics; the
// right refills and the keys left stale are not.
func TestConsistencyMonitorFindsWrongValues(t *testing.T) {
	e := newEnv(t)
	e.exec(t, "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)")
	e.exec(t, "CREATE TABLE tags (id int PRIMARY KEY)")
	e.exec(t, "INSERT INTO users SELECT g, 'v0' FROM generate_series(1, 20) g")
	e.exec(t, "INSERT INTO tags SELECT g FROM generate_series(1, 5) g")
	users, tags := cluster.KeyRange("user:", 1, 20), cluster.KeyRange("tag:", 1, 5)
	cfg := e.sidecar("stale", map[string][]string{"public.users": {"user:{id}"}, "public.tags": {"tag:{id}"}})
	cfg.Values = map[string]string{"public.users": "{id}|{name}"}
	cfg.Consistency = &fleet.ConsistencyConfig{Sample: 1, After: 2 * time.Second}
	sc := fleet.StartSidecar(t, cfg)
	// Cached once the sidecar streams: its new slot's flush came before.
	set := func(key, value string) { mcSet(t, e.mc.Addr(), key, value) }
	for i, k := range users {
		set(k, fmt.Sprintf("%d|v0", i+1))
	}
	for _, k := range tags {
		set(k, "x")
	}

	e.exec(t, "UPDATE users SET name = 'v1'")
	e.exec(t, "DELETE FROM tags")
	kc := cluster.DialKeys(t, e.mc.Addr())
	cluster.Eventually(t, 30*time.Second, func() error { return kc.AllInvalidated(append(users, tags...)) })
	for i, k := range users {
		v := fmt.Sprintf("%d|v1", i+1)
		if i >= 15 {
			v = fmt.Sprintf("%d|v0", i+1) // users 16..20: refilled stale
		}
		set(k, v)
	}
	set("tag:1", "x") // rows deleted, values put back
	set("tag:2", "x")

	cluster.Eventually(t, 60*time.Second, func() error {
		st, err := sc.Status()
		if err != nil {
			return err
		}
		c := st.Consistency
		if c == nil || c.Checked < 20 || c.PresenceChecked < 5 || c.Inconsistent < 5 || c.PresenceInconsistent < 2 {
			return fmt.Errorf("consistency %+v", c)
		}
		if c.Inconsistent != 5 || c.PresenceInconsistent != 2 {
			t.Fatalf("false positives: %+v", c)
		}
		var got []string
		for _, k := range c.Recent {
			got = append(got, k.Key+"="+k.Cached+"/"+k.Database)
		}
		sort.Strings(got)
		want := "tag:1=x/(no row) tag:2=x/(no row) user:16=16|v0/16|v1 user:17=17|v0/17|v1 user:18=18|v0/18|v1 user:19=19|v0/19|v1 user:20=20|v0/20|v1"
		if strings.Join(got, " ") != want {
			t.Fatalf("recent inconsistent keys:\n got %s\nwant %s", strings.Join(got, " "), want)
		}
		if c.Nines == nil || c.Nines.AtLeast {
			t.Fatalf("nines %+v with 5 inconsistent", c.Nines)
		}
		return nil
	})
	body, code, err := cluster.HTTPGet("http://" + sc.Config.HTTPListen + "/metrics")
	if err != nil || code != 200 {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	for _, want := range []string{
		`cachesync_consistency_inconsistent_total{kind="value",region="test",source="default"} 5`,
		`cachesync_consistency_inconsistent_total{kind="presence",region="test",source="default"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// mcSet stores value under key directly on memcached, as an app bypassing
// the proxy's leases would.
func mcSet(t *testing.T, addr, key, value string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "set %s 0 0 %d\r\n%s\r\n", key, len(value), value)
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "STORED\r\n" {
		t.Fatalf("set %s: %q %v", key, line, err)
	}
}
