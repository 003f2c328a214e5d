package region

import (
	"strings"
	"testing"
)

var th = thresholds{walWarnBytes: 1000, lagWarn: 1, lagCrit: 5}

func sidecar(name, region string, active bool) Member {
	return Member{Name: name, Region: region, Role: "sidecar", State: StateAlive, Status: &NodeStatus{
		Region: region, Node: name, Role: "sidecar", Active: active, Healthy: true,
		Slot:    &SlotStatus{Name: "s_" + region, RetainedWALBytes: 10, Streaming: true, WALStatus: "reserved"},
		Replica: &ReplicaStatus{Up: true, LagBytes: 100, LagSeconds: 0.1},
		E2ELag:  &LagStats{P50: 0.01, P99: 0.05, Samples: 10},
	}}
}

func proxy(name, region string, hits, misses uint64) Member {
	return Member{Name: name, Region: region, Role: "proxy", State: StateAlive, Status: &NodeStatus{
		Region: region, Node: name, Role: "proxy", Healthy: true,
		Proxy:     &ProxyStatus{Hits: hits, Misses: misses, LeasesGranted: 3, HotMisses: 2, StaleServed: 1},
		Memcached: []ServerStatus{{Addr: "m1", Up: true}, {Addr: "m2", Up: name != "p2"}},
	}}
}

func TestSummarizeHealthyRegion(t *testing.T) {
	s := summarize([]Member{sidecar("e1", "east", true), sidecar("e2", "east", false), proxy("p1", "east", 30, 10), proxy("p2", "east", 50, 10)}, th)
	if len(s) != 1 {
		t.Fatalf("regions = %d", len(s))
	}
	r := s[0]
	if r.ActiveSidecar != "e1" || r.InvalidationsPerSec == nil || r.Replica == nil || r.E2ELag == nil {
		t.Fatalf("summary = %+v", r)
	}
	if r.Proxy == nil || r.Proxy.Proxies != 2 || r.Proxy.Hits != 80 || r.Proxy.HitRate != 0.8 || r.Proxy.LeasesGranted != 6 {
		t.Fatalf("proxy totals = %+v", r.Proxy)
	}
	// m2 is down as seen by p2: down wins.
	if r.MemcachedUp != 1 || r.MemcachedDown != 1 || r.Health != HealthWarn {
		t.Fatalf("memcached up=%d down=%d health=%s", r.MemcachedUp, r.MemcachedDown, r.Health)
	}
}

func TestSummarizeNoActiveSidecarIsBehind(t *testing.T) {
	dead := sidecar("w1", "west", true)
	dead.State = StateDead
	s := summarize([]Member{dead, sidecar("w2", "west", false), sidecar("e1", "east", true)}, th)
	if s[0].Region != "east" || s[0].Health != HealthOK {
		t.Fatalf("east = %+v", s[0])
	}
	w := s[1]
	if w.Health != HealthBehind || w.ActiveSidecar != "" || w.InvalidationsPerSec != nil || w.Slot != nil {
		t.Fatalf("west = %+v", w)
	}
	if !strings.Contains(strings.Join(w.Reasons, ","), "no active sidecar") {
		t.Fatalf("reasons = %v", w.Reasons)
	}
}

func TestSummarizeThresholds(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(*NodeStatus)
		health  string
		walWarn bool
	}{
		{"wal over warn", func(s *NodeStatus) { s.Slot.RetainedWALBytes = 1000 }, HealthWarn, true},
		{"slot's own threshold", func(s *NodeStatus) { s.Slot.RetainedWALBytes = 1000; s.Slot.WarnBytes = 5000 }, HealthOK, false},
		{"wal lost", func(s *NodeStatus) { s.Slot.WALStatus = "lost" }, HealthBehind, false},
		{"not streaming", func(s *NodeStatus) { s.Slot.Streaming = false }, HealthBehind, false},
		{"e2e warn", func(s *NodeStatus) { s.E2ELag.P99 = 2 }, HealthWarn, false},
		{"e2e crit", func(s *NodeStatus) { s.E2ELag.P99 = 6 }, HealthBehind, false},
		{"replica lag", func(s *NodeStatus) { s.Replica.LagSeconds = 1.5 }, HealthWarn, false},
		{"replica down", func(s *NodeStatus) { s.Replica.Up = false }, HealthBehind, false},
		{"unhealthy", func(s *NodeStatus) { s.Healthy = false; s.Problems = []string{"memcached m1 down"} }, HealthWarn, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := sidecar("e1", "east", true)
			c.mutate(m.Status)
			r := summarize([]Member{m}, th)[0]
			if r.Health != c.health || r.WALWarning != c.walWarn {
				t.Fatalf("health=%s walWarning=%v reasons=%v, want %s %v", r.Health, r.WALWarning, r.Reasons, c.health, c.walWarn)
			}
		})
	}
}

func TestSummarizeTwoActiveSidecars(t *testing.T) {
	r := summarize([]Member{sidecar("e1", "east", true), sidecar("e2", "east", true)}, th)[0]
	if r.Health != HealthWarn {
		t.Fatalf("health = %s, reasons %v", r.Health, r.Reasons)
	}
}

func TestHumanBytes(t *testing.T) {
	for in, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3 << 30: "3.0 GiB", 1536 << 20: "1.5 GiB"} {
		if got := humanBytes(in); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", in, got, want)
		}
	}
}

// shardedSidecar reports two sources; active says which it streams.
func shardedSidecar(name string, active map[string]bool) Member {
	m := sidecar(name, "west", active["shard1"] || active["shard2"])
	for _, src := range []string{"shard1", "shard2"} {
		m.Status.Sources = append(m.Status.Sources, SourceStatus{
			Name: src, Active: active[src], Standby: !active[src], Healthy: true,
			Slot:    &SlotStatus{Name: "cachesync_west", RetainedWALBytes: 10, Streaming: active[src], WALStatus: "reserved"},
			Replica: &ReplicaStatus{Up: true, LagSeconds: 0.1},
		})
	}
	return m
}

func TestSummarizeSources(t *testing.T) {
	both := map[string]bool{"shard1": true, "shard2": true}
	r := summarize([]Member{shardedSidecar("w1", both)}, th)[0]
	if r.Health != HealthOK || len(r.Sources) != 2 || r.Sources[1].Name != "shard2" {
		t.Fatalf("health=%s reasons=%v sources=%+v", r.Health, r.Reasons, r.Sources)
	}

	m := shardedSidecar("w1", both)
	m.Status.Sources[1].Slot.Streaming = false
	m.Status.Sources[1].Replica.Up = false
	r = summarize([]Member{m}, th)[0]
	reasons := strings.Join(r.Reasons, "; ")
	if r.Health != HealthBehind || !strings.Contains(reasons, "source shard2: slot cachesync_west not streaming") ||
		!strings.Contains(reasons, "source shard2: replica down") || strings.Contains(reasons, "shard1") {
		t.Fatalf("one source down: health=%s reasons=%s", r.Health, reasons)
	}

	m = shardedSidecar("w1", both)
	m.Status.Sources[0].Slot.RetainedWALBytes = 2000
	if r = summarize([]Member{m}, th)[0]; !r.WALWarning || !strings.Contains(strings.Join(r.Reasons, ";"), "source shard1: slot cachesync_west retains") {
		t.Fatalf("wal over warn on one source: %+v", r.Reasons)
	}

	// Two sidecars streaming one source each: each source shows as the
	// sidecar that streams it reports it, and nothing is wrong.
	split := summarize([]Member{shardedSidecar("w1", map[string]bool{"shard1": true}), shardedSidecar("w2", map[string]bool{"shard2": true})}, th)[0]
	if split.Health != HealthOK || len(split.Sources) != 2 || !split.Sources[0].Active || !split.Sources[1].Active {
		t.Fatalf("split: health=%s reasons=%v sources=%+v", split.Health, split.Reasons, split.Sources)
	}
	twice := summarize([]Member{shardedSidecar("w1", both), shardedSidecar("w2", map[string]bool{"shard2": true})}, th)[0]
	if twice.Health != HealthWarn || !strings.Contains(strings.Join(twice.Reasons, ";"), "claim to be active") {
		t.Fatalf("one source streamed twice: health=%s reasons=%v", twice.Health, twice.Reasons)
	}
}
