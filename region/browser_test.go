package region

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/browser"
)

// fakeStatus is a Status func whose figures the test changes.
type fakeStatus struct {
	mu sync.Mutex
	st NodeStatus
}

func (f *fakeStatus) get() NodeStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.st
	if st.E2ELag != nil {
		l := *st.E2ELag
		st.E2ELag = &l
	}
	return st
}

func (f *fakeStatus) setP99(v float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := *f.st.E2ELag
	l.P99 = v
	f.st.E2ELag = &l
}

// regionCard cuts one region's card out of the dumped DOM.
func regionCard(t *testing.T, dom, region string) string {
	t.Helper()
	i := strings.Index(dom, `data-region="`+region+`"`)
	if i < 0 {
		t.Fatalf("region %s not on the page:\n%s", region, dom)
	}
	j := strings.Index(dom[i:], "</article>")
	if j < 0 {
		t.Fatalf("region %s card not closed", region)
	}
	return dom[i : i+j]
}

func field(card, name string) string {
	m := regexp.MustCompile(`data-field="` + name + `"[^>]*>([^<]*)<`).FindStringSubmatch(card)
	if m == nil {
		return "(missing)"
	}
	return m[1]
}

func TestDashboardInBrowser(t *testing.T) {
	east := &fakeStatus{st: NodeStatus{
		Active: true, Healthy: true, InvalidationsPerSec: 1234.5, QueueDepth: 7,
		Slot: &SlotStatus{Name: "cachesync_east", ConfirmedLSN: "0/3000060", ReceivedLSN: "0/3000100",
			RetainedWALBytes: 3 << 30, WarnBytes: 1 << 30, WALStatus: "extended", Streaming: true},
		Replica:   &ReplicaStatus{Up: true, ReplayLSN: "0/3000000", LagBytes: 4096, LagSeconds: 0.25},
		E2ELag:    &LagStats{P50: 0.012, P99: 0.080, Max: 0.1, Samples: 100},
		Memcached: []ServerStatus{{Addr: "127.0.0.1:11211", Up: true}, {Addr: "127.0.0.1:11212", Up: true}},
		Consistency: &ConsistencyStatus{Checked: 10000, Inconsistent: 1, Nines: Nines(10000, 1),
			PresenceChecked: 50, PresenceNines: Nines(50, 0),
			Recent: []InconsistentKey{{Key: "user:42", Table: "public.users", Kind: "value", Cached: "42|old", Database: "42|new", At: time.Now()}}},
	}}
	a := startNode(t, "east", "east-1", "sidecar", nil, func(c *Config) {
		c.Status = east.get
		c.HTTPListen = "127.0.0.1:0"
	})
	startNode(t, "east", "east-proxy", "proxy", []string{a.GossipAddr()}, func(c *Config) {
		c.Status = func() NodeStatus {
			return NodeStatus{Healthy: true, Proxy: &ProxyStatus{Hits: 900, Misses: 100, LeasesGranted: 55, HotMisses: 12, StaleServed: 3}}
		}
	})
	// West's only sidecar is a standby: nothing invalidates west.
	startNode(t, "west", "west-1", "sidecar", []string{a.GossipAddr()}, func(c *Config) {
		c.Status = func() NodeStatus { return NodeStatus{Active: false, Healthy: true} }
	})
	// North's sidecar tails two primaries; one of them has lost its slot.
	startNode(t, "north", "north-1", "sidecar", []string{a.GossipAddr()}, func(c *Config) {
		c.Status = func() NodeStatus {
			return NodeStatus{Active: true, Healthy: false, Sources: []SourceStatus{
				{Name: "shard1", Active: true, Healthy: true,
					Slot:    &SlotStatus{Name: "cachesync_north", ConfirmedLSN: "0/5000028", RetainedWALBytes: 2048, WarnBytes: 1 << 30, Streaming: true},
					Replica: &ReplicaStatus{Up: true, LagSeconds: 0.03}, E2ELag: &LagStats{P99: 0.007, Samples: 10}},
				{Name: "shard2", Healthy: false, Problems: []string{"not streaming from the primary: connection refused"},
					Slot: &SlotStatus{Name: "cachesync_north", ConfirmedLSN: "0/7000000", RetainedWALBytes: 2 << 30, WarnBytes: 1 << 30}},
			}}
		}
	})
	eventually(t, 10*time.Second, func() error {
		f := a.Fleet()
		for _, m := range f {
			if m.Status == nil {
				return fmt.Errorf("no status from %s yet", m.Name)
			}
		}
		if len(f) != 4 {
			return fmt.Errorf("%d members", len(f))
		}
		return nil
	})

	url := "http://" + a.HTTPAddr() + "/"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dom, err := browser.BrowserDOM(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dom, `data-loaded="true"`) {
		t.Fatalf("page never rendered the fleet:\n%s", dom)
	}
	e := regionCard(t, dom, "east")
	for name, want := range map[string]string{
		"health":                   "warning",
		"active-sidecar":           "east-1",
		"replica-lag-bytes":        "4.0 KiB",
		"replica-lag-seconds":      "250 ms",
		"e2e-p50":                  "12 ms",
		"e2e-p99":                  "80 ms",
		"invalidations-per-sec":    "1234.5",
		"queue-depth":              "7",
		"slot-confirmed":           "0/3000060",
		"retained-wal":             "3.0 GiB",
		"memcached-up":             "2",
		"memcached-down":           "0",
		"hit-rate":                 "90.0 %",
		"leases-granted":           "55",
		"hot-misses":               "12",
		"stale-served":             "3",
		"consistency-nines":        "4.0 nines",
		"consistency-checked":      "10000",
		"consistency-inconsistent": "1",
		"consistency-presence":     "50 / 0",
	} {
		if got := field(e, name); got != want {
			t.Errorf("east %s = %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(e, `data-key="user:42"`) || !strings.Contains(e, "<td>42|old</td><td>42|new</td>") {
		t.Errorf("east does not list its inconsistent key:\n%s", e)
	}
	if !strings.Contains(e, `data-field="wal-warning"`) {
		t.Errorf("east has no WAL warning:\n%s", e)
	}
	w := regionCard(t, dom, "west")
	if !strings.Contains(w, `data-health="behind"`) || field(w, "health") != "behind" {
		t.Errorf("west is not shown behind:\n%s", w)
	}
	for _, name := range []string{"e2e-p99", "replica-lag-seconds", "retained-wal", "hit-rate"} {
		if got := field(w, name); got != "–" {
			t.Errorf("west %s = %q, want –", name, got)
		}
	}
	if !strings.Contains(w, "no active sidecar") || !strings.Contains(w, `data-node="west-1"`) {
		t.Errorf("west does not say why or lacks its node:\n%s", w)
	}
	if strings.Contains(e, "data-source=") {
		t.Errorf("east (one unnamed source) shows a sources table:\n%s", e)
	}
	n := regionCard(t, dom, "north")
	row := func(src string) string {
		i := strings.Index(n, `data-source="`+src+`"`)
		if i < 0 {
			t.Fatalf("north has no row for %s:\n%s", src, n)
		}
		j := strings.Index(n[i:], "</tr>")
		return n[i : i+j]
	}
	for src, want := range map[string]map[string]string{
		"shard1": {"source-mode": "active", "source-slot": "cachesync_north", "source-confirmed": "0/5000028",
			"source-retained-wal": "2.0 KiB", "source-replica-lag": "30 ms", "source-e2e-p99": "7.00 ms", "source-problems": ""},
		"shard2": {"source-mode": "down", "source-confirmed": "0/7000000", "source-retained-wal": "2.0 GiB",
			"source-replica-lag": "–", "source-e2e-p99": "–", "source-problems": "not streaming from the primary: connection refused"},
	} {
		r := row(src)
		for name, w := range want {
			if got := field(r, name); got != w {
				t.Errorf("north %s %s = %q, want %q", src, name, got, w)
			}
		}
	}
	if field(n, "health") != "behind" || !strings.Contains(n, "source shard2: slot cachesync_north not streaming") {
		t.Errorf("north does not say that shard2 is behind:\n%s", n)
	}
	if !strings.Contains(dom, `data-chart="east"`) {
		t.Errorf("no east chart")
	}

	east.setP99(0.5)
	eventually(t, 30*time.Second, func() error {
		dom, err := browser.BrowserDOM(ctx, url)
		if err != nil {
			return err
		}
		if got := field(regionCard(t, dom, "east"), "e2e-p99"); got != "500 ms" {
			return fmt.Errorf("east e2e-p99 = %q after the change", got)
		}
		return nil
	})

	dir, err := os.MkdirTemp("", "cachesync-dashboard-")
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "dashboard.png")
	if err := browser.BrowserScreenshot(ctx, url, shot); err != nil {
		t.Fatal(err)
	}
	t.Logf("dashboard screenshot: %s", shot)
}
