package node

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/region"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestProxyNodeLifecycle: New starts nothing, Listen binds, Run returns
// when ctx ends, Close twice is safe; http.pprof decides /debug/pprof/.
func TestProxyNodeLifecycle(t *testing.T) {
	for _, pprof := range []bool{false, true} {
		t.Run(fmt.Sprintf("pprof=%t", pprof), func(t *testing.T) {
			f := config.Default()
			f.Region, f.Node = "test", "n1"
			f.Memcache.Servers = config.List{"127.0.0.1:1"} // nothing listens: the node says so
			f.Proxy.Listen, f.Cluster.Bind, f.HTTP.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
			f.HTTP.PProf = pprof
			if err := f.Check(config.RoleProxy); err != nil {
				t.Fatal(err)
			}
			n, err := New(Config{File: f, Role: config.RoleProxy, Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			if n.HTTPAddr() != "" {
				t.Fatalf("New bound HTTP at %s", n.HTTPAddr())
			}
			if err := n.Listen(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- n.Run(ctx) }()
			base := "http://" + n.HTTPAddr()
			code, body := get(t, base+"/debug/pprof/")
			if want := map[bool]int{false: http.StatusNotFound, true: http.StatusOK}[pprof]; code != want {
				t.Errorf("/debug/pprof/ = %d, want %d", code, want)
			}
			if pprof && !strings.Contains(body, "goroutine") {
				t.Errorf("/debug/pprof/ does not list profiles: %.200s", body)
			}
			if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, `cachesync_build_info{version="test"} 1`) {
				t.Errorf("/metrics = %d, lacks build_info", code)
			}
			if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "memcached 127.0.0.1:1 unreachable") {
				t.Errorf("/readyz = %d %q, want 503 naming the server", code, body)
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after its context ended")
			}
			n.Close()
			n.Close()
		})
	}
}

func TestUnknownRole(t *testing.T) {
	if _, err := New(Config{File: config.Default(), Role: "router"}); err == nil || !strings.Contains(err.Error(), "router") {
		t.Fatalf("New with an unknown role: %v", err)
	}
}

func snap(name string, active bool, retained int64, replica *region.ReplicaStatus, servers ...region.ServerStatus) sourceSnapshot {
	ss := region.SourceStatus{Name: name, Active: active, Standby: !active, Healthy: true,
		Slot: &region.SlotStatus{Name: "cachesync_west", RetainedWALBytes: retained, Streaming: active}, Replica: replica,
		InvalidationsPerSec: 10, QueueDepth: 2}
	if !active {
		ss.Problems = []string{"standing by: another sidecar holds slot cachesync_west"}
	}
	return sourceSnapshot{status: ss, servers: servers, prefix: "source " + name + ": "}
}

func TestNodeStatusOverSources(t *testing.T) {
	up := func(a string) region.ServerStatus { return region.ServerStatus{Addr: a, Up: true, State: "up"} }
	e2e := &region.LagStats{P99: 0.01, Samples: 3}
	ns := nodeStatus(e2e, []sourceSnapshot{
		snap("shard1", true, 100, &region.ReplicaStatus{Up: true, LagSeconds: 0.5}, up("m1"), up("m2")),
		snap("shard2", false, 900, &region.ReplicaStatus{Up: true, LagSeconds: 0.2}, up("m1"),
			region.ServerStatus{Addr: "m2", Up: true, State: "catching_up"}, region.ServerStatus{Addr: "m3"}),
	})
	if !ns.Active || len(ns.Sources) != 2 || ns.InvalidationsPerSec != 20 || ns.QueueDepth != 4 || ns.E2ELag != e2e {
		t.Fatalf("status = %+v", ns)
	}
	if ns.Slot.RetainedWALBytes != 900 || ns.Replica.LagSeconds != 0.5 {
		t.Errorf("single-source fields: slot %+v replica %+v, want the most WAL and the furthest replica", ns.Slot, ns.Replica)
	}
	if len(ns.Problems) != 1 || ns.Problems[0] != "source shard2: standing by: another sidecar holds slot cachesync_west" {
		t.Errorf("problems = %q", ns.Problems)
	}
	want := []region.ServerStatus{up("m1"), {Addr: "m2", Up: true, State: "catching_up"}, {Addr: "m3"}}
	if fmt.Sprint(ns.Memcached) != fmt.Sprint(want) {
		t.Errorf("memcached = %+v, want %+v", ns.Memcached, want)
	}

	down := nodeStatus(nil, []sourceSnapshot{
		snap("shard1", true, 1, &region.ReplicaStatus{Up: true, LagSeconds: 9}),
		snap("shard2", true, 1, &region.ReplicaStatus{Up: false}),
		snap("shard3", true, 1, nil),
	})
	if down.Replica.Up {
		t.Errorf("a replica that is down must be the one shown: %+v", down.Replica)
	}
	if got := nodeStatus(nil, []sourceSnapshot{snap("a", false, 1, nil)}); got.Active || !got.Healthy {
		t.Errorf("a standby sidecar is healthy and not active: %+v", got)
	}
}
