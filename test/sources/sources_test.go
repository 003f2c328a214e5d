package sources

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/region"
	"github.com/cachesync/cachesync/test/cluster"
)

const db = "app"

// shards are two primaries; shard2 has a replica in this region.
type shards struct {
	p1, p2, r2 *cluster.Postgres
	mc         *cluster.Memcached
}

func startShards(t *testing.T) *shards {
	s := &shards{p1: cluster.StartPostgres(t), p2: cluster.StartPostgres(t), mc: cluster.StartMemcached(t)}
	for _, p := range []*cluster.Postgres{s.p1, s.p2} {
		p.CreateDB(t, db)
		p.ExecDB(t, db, "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)")
	}
	s.r2 = s.p2.StartReplica(t)
	return s
}

// sidecarFile is the region's config for node, marshalled from the
// schema's own structs.
func (s *shards) sidecarFile(t *testing.T, node string, join []string, pprof bool) (config.Config, string) {
	cfg := config.Default()
	cfg.Region, cfg.Node = "west", node
	shard1, shard2 := config.DefaultSource(), config.DefaultSource()
	shard1.Name, shard1.Source = "shard1", s.p1.DSN(db)
	shard2.Name, shard2.Source, shard2.Replica = "shard2", s.p2.DSN(db), s.r2.DSN(db)
	for _, src := range []*config.Source{&shard1, &shard2} {
		src.StatusInterval = config.Duration(100 * time.Millisecond)
	}
	cfg.Postgres = config.Sources{shard1, shard2}
	cfg.Memcache.Servers = config.List{s.mc.Addr()}
	cfg.Memcache.Invalidate = "delete"
	cfg.Tables = map[string]config.Table{"public.users": {Keys: config.List{"user:{id}"}, Value: "{id}|{name}"}}
	free := func() string { return fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(t)) }
	cfg.Proxy.Listen, cfg.Cluster.Bind, cfg.HTTP.Listen = free(), free(), free()
	cfg.Cluster.Join = join
	cfg.HTTP.PProf = pprof
	data, err := config.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), node+".yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, path
}

func launch(t *testing.T, name, path string) *cluster.Process {
	return cluster.StartProcess(t, name, cluster.Binary(t), "sidecar", "--config", path)
}

func status(cfg config.Config) (region.NodeStatus, error) {
	var v region.StatusView
	body, code, err := cluster.HTTPGet("http://" + cfg.HTTP.Listen + "/api/status")
	if err != nil {
		return v.Node, err
	}
	if code != http.StatusOK {
		return v.Node, fmt.Errorf("api/status %d: %s", code, body)
	}
	err = json.Unmarshal(body, &v)
	return v.Node, err
}

// waitSources polls until the sidecar reports both sources in mode
// ("active" or "standby").
func waitSources(t *testing.T, p *cluster.Process, cfg config.Config, mode string) region.NodeStatus {
	t.Helper()
	var st region.NodeStatus
	cluster.Eventually(t, 60*time.Second, func() error {
		if p.Exited() {
			t.Fatalf("%s exited:\n%s", cfg.Node, p.Logs())
		}
		var err error
		if st, err = status(cfg); err != nil {
			return err
		}
		if len(st.Sources) != 2 {
			return fmt.Errorf("%s reports %d sources", cfg.Node, len(st.Sources))
		}
		for _, src := range st.Sources {
			if (mode == "active") != src.Active || (mode == "standby") != src.Standby {
				return fmt.Errorf("%s source %s: active=%t standby=%t problems=%v", cfg.Node, src.Name, src.Active, src.Standby, src.Problems)
			}
		}
		return nil
	})
	return st
}

// writeBoth updates rows on both primaries (ids from..from+n-1 on shard1,
// the same plus 1000 on shard2) and returns their keys and each primary's
// position after the writes.
func (s *shards) writeBoth(t *testing.T, kc *cluster.KeyClient, from, n int) (keys []string, lsn1, lsn2 string) {
	t.Helper()
	keys = append(cluster.KeyRange("user:", from, from+n-1), cluster.KeyRange("user:", 1000+from, 1000+from+n-1)...)
	kc.SetAll(t, keys)
	for i := from; i < from+n; i++ {
		s.p1.ExecDB(t, db, "INSERT INTO users VALUES ($1, 'a') ON CONFLICT (id) DO UPDATE SET name = users.name || 'x'", i)
		s.p2.ExecDB(t, db, "INSERT INTO users VALUES ($1, 'b') ON CONFLICT (id) DO UPDATE SET name = users.name || 'y'", 1000+i)
	}
	return keys, s.p1.InsertLSN(t, db), s.p2.InsertLSN(t, db)
}

// TestOneSidecarTwoPrimaries: one sidecar tails two primaries (shard2
// gated on its replica): changes on both are invalidated, each source
// confirms its own slot on its own server, and the status, the metrics
// and the standby's takeover are per source.
func TestOneSidecarTwoPrimaries(t *testing.T) {
	s := startShards(t)
	cfgA, pathA := s.sidecarFile(t, "west-1", nil, false)
	a := launch(t, "sidecar west-1", pathA)
	st := waitSources(t, a, cfgA, "active")
	if st.Sources[0].Name != "shard1" || st.Sources[1].Name != "shard2" || !st.Active {
		t.Fatalf("sources = %+v", st.Sources)
	}
	for _, src := range st.Sources {
		if src.Slot == nil || src.Slot.Name != "cachesync_west" || !src.Slot.Streaming {
			t.Errorf("source %s slot = %+v, want cachesync_west streaming on its own server", src.Name, src.Slot)
		}
	}
	if st.Sources[0].Replica != nil || st.Sources[1].Replica == nil || !st.Sources[1].Replica.Up {
		t.Errorf("replicas: shard1 %+v (want none), shard2 %+v (want up)", st.Sources[0].Replica, st.Sources[1].Replica)
	}

	kc := cluster.DialKeys(t, s.mc.Addr())
	keys, lsn1, lsn2 := s.writeBoth(t, kc, 1, 50)
	s.p1.WaitConfirmed(t, db, "cachesync_west", lsn1, time.Minute)
	s.p2.WaitConfirmed(t, db, "cachesync_west", lsn2, time.Minute)
	if err := kc.AllInvalidated(keys); err != nil {
		t.Fatalf("after writes on both primaries: %v", err)
	}

	// `cachesync check` reads each source's rows from its own database: a
	// wrong value planted for a row of each shard is found, by its source.
	kc.SetAll(t, []string{"user:1", "user:1001"})
	out, err := exec.Command(cluster.Binary(t), "check", "--config", pathA).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("check with planted values: %v, want exit 1\n%s", err, out)
	}
	for _, want := range []string{"region west source shard1: keys 50, cached 1 (stale 0, consistent 0, inconsistent 1)",
		"region west source shard2: keys 50, cached 1 (stale 0, consistent 0, inconsistent 1)", "inconsistent user:1: cached \"x\", database says \"1|a\"", "inconsistent user:1001: cached \"x\", database says \"1001|b\""} {
		if !strings.Contains(string(out), want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}

	// Each source's figures are labelled; the names are today's.
	body, _, err := cluster.HTTPGet("http://" + cfgA.HTTP.Listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics := string(body)
	for _, want := range []string{`source="shard1"`, `source="shard2"`, "cachesync_replica_up{region=\"west\",source=\"shard2\"} 1"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, `cachesync_replica_up{region="west",source="shard1"}`) {
		t.Errorf("/metrics has a replica for shard1, which has none")
	}
	if _, code, err := cluster.HTTPGet("http://" + cfgA.HTTP.Listen + "/debug/pprof/"); err != nil || code != http.StatusNotFound {
		t.Errorf("/debug/pprof/ without http.pprof: %d %v, want 404", code, err)
	}

	// One primary down holds only its own invalidations: shard1's changes
	// are still invalidated, and readiness names the source that is not.
	stopAt := time.Now()
	s.p2.Stop(t)
	t.Logf("shard2's primary stopped in %.1fs", time.Since(stopAt).Seconds())
	alone := cluster.KeyRange("user:", 200, 209)
	kc.SetAll(t, alone)
	for i := 200; i < 210; i++ {
		s.p1.ExecDB(t, db, "INSERT INTO users VALUES ($1, 'c')", i)
	}
	s.p1.WaitConfirmed(t, db, "cachesync_west", s.p1.InsertLSN(t, db), time.Minute)
	if err := kc.AllInvalidated(alone); err != nil {
		t.Fatalf("shard1's changes while shard2 is down: %v", err)
	}
	cluster.Eventually(t, 30*time.Second, func() error {
		body, code, err := cluster.HTTPGet("http://" + cfgA.HTTP.Listen + "/readyz")
		if err != nil || code != http.StatusServiceUnavailable || !strings.Contains(string(body), "source shard2: not streaming") {
			return fmt.Errorf("readyz %d %q %v, want 503 naming shard2", code, body, err)
		}
		return nil
	})
	s.p2.Start(t)
	startAt := time.Now()
	waitSources(t, a, cfgA, "active")
	t.Logf("shard2 streaming again %.1fs after its primary started", time.Since(startAt).Seconds())

	// A standby with the same sources holds neither slot until west-1
	// dies, then takes both.
	cfgB, pathB := s.sidecarFile(t, "west-2", []string{cfgA.Cluster.Bind}, true)
	b := launch(t, "sidecar west-2", pathB)
	waitSources(t, b, cfgB, "standby")
	if _, code, err := cluster.HTTPGet("http://" + cfgB.HTTP.Listen + "/debug/pprof/"); err != nil || code != http.StatusOK {
		t.Errorf("/debug/pprof/ with http.pprof: true: %d %v, want 200", code, err)
	}
	a.Kill()
	killed := time.Now()
	waitSources(t, b, cfgB, "active")
	t.Logf("standby active on both sources %.2fs after SIGKILL of the active sidecar", time.Since(killed).Seconds())

	keys, lsn1, lsn2 = s.writeBoth(t, kc, 51, 50)
	s.p1.WaitConfirmed(t, db, "cachesync_west", lsn1, time.Minute)
	s.p2.WaitConfirmed(t, db, "cachesync_west", lsn2, time.Minute)
	if err := kc.AllInvalidated(keys); err != nil {
		t.Fatalf("after the takeover: %v", err)
	}
	cluster.Eventually(t, 30*time.Second, func() error {
		body, code, err := cluster.HTTPGet("http://" + cfgB.HTTP.Listen + "/readyz")
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("readyz %d %s %v", code, body, err)
		}
		return nil
	})
	if err := b.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := b.Wait(30 * time.Second); err != nil {
		t.Fatalf("west-2 on SIGTERM: %v\n%s", err, b.Logs())
	}
}
