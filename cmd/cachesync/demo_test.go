package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cachesync/cachesync/cmd/demo"
	"github.com/cachesync/cachesync/region"
	"github.com/cachesync/cachesync/test/cluster"
)

var (
	summaryRE = regexp.MustCompile(`writes/s (\d+) \| invalidations/s east (\d+) west (\d+) .* \| stale (\S+) \((\d+) cached values checked\)`)
	// consistencyRE is each region's consistency monitor: checked/inconsistent.
	consistencyRE = regexp.MustCompile(`\| consistency east (?:(\d+)/(\d+) [^|]*|- )west (?:(\d+)/(\d+) [^|]*|- )\|`)
	tempDirRE     = regexp.MustCompile(`sidecars and 2 proxies in (\S+)`)
	proxyRE       = regexp.MustCompile(`region east: proxy (\S+) `)
	dashRE        = regexp.MustCompile(`dashboard: (http://\S+)`)
)

// lockedBuffer is the demo's stdout, read by the test while the demo runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDemo runs the real demo (PostgreSQL primary and replica, two
// memcached, sidecars and proxies in this process): it must report writes,
// invalidations in both regions and no stale value, serve the dashboard,
// and leave nothing behind. To show the stale check is not vacuous, the
// test then plants wrong values in east's cache behind the system's back:
// the next check must find some (those no write has invalidated since).
func TestDemo(t *testing.T) {
	out := &lockedBuffer{}
	var errOut bytes.Buffer
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		done <- cmdDemo(ctx, []string{"--http", "0"}, out, &errOut)
	}()
	var (
		waitOnce sync.Once
		result   error
	)
	wait := func() error {
		waitOnce.Do(func() { result = <-done })
		return result
	}
	// A test that fails early still stops the demo and waits for it, so its
	// servers and temp dir do not outlive the test.
	t.Cleanup(func() { cancel(); wait() }) //nolint:errcheck // reported where it matters
	defer func() {
		if t.Failed() {
			t.Logf("demo output:\n%s", out.String())
		}
	}()

	var (
		before  int // summary lines printed before the planting
		stopped bool
	)
	cluster.Eventually(t, 60*time.Second, func() error {
		select {
		case err := <-done:
			done <- err
			stopped = true
			return nil
		default:
		}
		if before = len(summaryRE.FindAllString(out.String(), -1)); before == 0 {
			return errors.New("no summary line yet")
		}
		return nil
	})
	if stopped {
		t.Fatalf("demo stopped before its first summary line: %v\nstderr:\n%s", wait(), errOut.String())
	}
	text := out.String()
	if m := tempDirRE.FindStringSubmatch(text); m == nil {
		t.Error("demo did not say where its temp dir is")
	} else {
		requireInDir(t, m[1], "east-sidecar.yaml", "east-proxy.yaml", "west-sidecar.yaml", "west-proxy.yaml",
			"cachesync.log", "cachesync-pg-*", "cachesync-pgr-*")
	}
	if m := dashRE.FindStringSubmatch(text); m == nil {
		t.Error("demo did not print the dashboard URL")
	} else {
		base := strings.TrimSuffix(m[1], "/")
		httpGet(t, base+"/")
		// serve must hand region its registry, or the fleet's own metrics
		// (region/metrics.go) never reach /metrics.
		body := httpGet(t, base+"/metrics")
		for _, want := range []string{`cachesync_cluster_members{state="alive"}`, `cachesync_cluster_region_behind{region="east"}`} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		requireProxiesInFleet(t, base+"/api/status", "east", "west")
	}
	if m := proxyRE.FindStringSubmatch(text); m == nil {
		t.Error("demo did not print east's proxy address")
	} else {
		// Plant just after a summary line: the next check starts a full
		// interval later, after every planted value is in.
		seen := len(summaryRE.FindAllString(out.String(), -1))
		cluster.Eventually(t, 30*time.Second, func() error {
			if before = len(summaryRE.FindAllString(out.String(), -1)); before == seen {
				return errors.New("no new summary line yet")
			}
			return nil
		})
		mc := memcache.New(m[1])
		for id := 1; id <= demo.Rows; id++ {
			if err := mc.Set(&memcache.Item{Key: "item:" + strconv.Itoa(id), Value: []byte("planted"), Expiration: 60}); err != nil {
				t.Fatalf("plant a wrong value through east's proxy: %v", err)
			}
		}
	}
	// The demo runs until the check after the planting has reported, and
	// for at least four lines in all (the monitor's checks start after 5 s),
	// however long the servers took to start; then it is stopped (Ctrl-C).
	cluster.Eventually(t, 60*time.Second, func() error {
		if n := len(summaryRE.FindAllString(out.String(), -1)); n < max(before+1, 4) {
			return fmt.Errorf("%d summary lines, want %d", n, max(before+1, 4))
		}
		return nil
	})
	cancel()
	err := wait()
	text = out.String()
	if err != nil {
		t.Fatalf("demo: %v\nstderr:\n%s", err, errOut.String())
	}

	m := tempDirRE.FindStringSubmatch(text)
	if m == nil {
		t.Fatal("demo did not say where its temp dir is")
	}
	if _, err := os.Stat(m[1]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir %s still exists after the demo (stat: %v)", m[1], err)
	}
	lines := summaryRE.FindAllStringSubmatch(text, -1)
	if len(lines) < before+1 {
		t.Fatalf("%d summary lines, want one after the planting (line %d)", len(lines), before+1)
	}
	var wrote, eastInv, westInv int
	for i, s := range lines[:before] {
		if s[4] != "0" {
			t.Errorf("line %d: stale values reported by a working system: %s", i+1, s[0])
		}
		if n, _ := strconv.Atoi(s[5]); n == 0 {
			t.Errorf("line %d: no cached value checked: %s", i+1, s[0])
		}
		if n, _ := strconv.Atoi(s[1]); n > 0 {
			wrote++
		}
		if n, _ := strconv.Atoi(s[2]); n > 0 {
			eastInv++
		}
		if n, _ := strconv.Atoi(s[3]); n > 0 {
			westInv++
		}
	}
	// The consistency monitor measures both regions and, while nothing
	// bypasses the leases, finds nothing.
	checks := consistencyRE.FindAllStringSubmatch(text, -1)
	if len(checks) != len(lines) {
		t.Errorf("%d summary lines, %d with the consistency monitor's figures", len(lines), len(checks))
	}
	var eastChecked, westChecked bool
	for i, c := range checks {
		eastChecked = eastChecked || (c[1] != "" && c[1] != "0")
		westChecked = westChecked || (c[3] != "" && c[3] != "0")
		if i < before && ((c[2] != "" && c[2] != "0") || (c[4] != "" && c[4] != "0")) {
			t.Errorf("line %d: the monitor found inconsistent keys in a working system: %s", i+1, c[0])
		}
	}
	if !eastChecked || !westChecked {
		t.Errorf("the consistency monitor checked no key in east (%v) or west (%v)", eastChecked, westChecked)
	}
	if wrote == 0 || eastInv == 0 || westInv == 0 {
		t.Errorf("lines with writes>0: %d, east invalidations>0: %d, west invalidations>0: %d; want all > 0", wrote, eastInv, westInv)
	}
	if n, err := strconv.Atoi(lines[before][4]); err != nil || n == 0 {
		t.Errorf("after planting wrong values in east's cache, the check said stale %s: %s", lines[before][4], lines[before][0])
	}
}

// requireInDir fails the test unless each pattern matches a file in dir:
// everything the demo makes is in its own directory.
func requireInDir(t *testing.T, dir string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if m, _ := filepath.Glob(filepath.Join(dir, p)); len(m) == 0 {
			t.Errorf("%s has no %s", dir, p)
		}
	}
}

// requireProxiesInFleet polls the dashboard's /api/status until every
// region's proxy is an alive member of the fleet and the region's card
// shows its proxy's figures (reads went through it).
func requireProxiesInFleet(t *testing.T, statusURL string, regions ...string) {
	t.Helper()
	cluster.Eventually(t, 30*time.Second, func() error {
		v, err := statusView(statusURL)
		if err != nil {
			return err
		}
		for _, r := range regions {
			proxy := r + "-1-proxy"
			if !slices.ContainsFunc(v.Fleet, func(m region.Member) bool {
				return m.Name == proxy && m.Role == "proxy" && m.Region == r && m.State == "alive"
			}) {
				return fmt.Errorf("%s is not an alive member of the fleet: %+v", proxy, v.Fleet)
			}
			i := slices.IndexFunc(v.Regions, func(s region.RegionSummary) bool { return s.Region == r })
			if i < 0 {
				return fmt.Errorf("no region %s on the dashboard", r)
			}
			p := v.Regions[i].Proxy
			if p == nil || p.Proxies != 1 || p.Hits+p.Misses == 0 {
				return fmt.Errorf("region %s shows no proxy figures: %+v", r, p)
			}
		}
		return nil
	})
}

// statusView is one read of a node's /api/status.
func statusView(url string) (region.StatusView, error) {
	var v region.StatusView
	body, code, err := cluster.HTTPGet(url)
	if err != nil || code != http.StatusOK {
		return v, fmt.Errorf("GET %s: %d %v", url, code, err)
	}
	err = json.Unmarshal(body, &v)
	return v, err
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, res.Status, err)
	}
	return string(body)
}

// TestDemoShards runs `cachesync demo --shards 2`: two primaries, a replica
// of each, and in each region one sidecar with a source per primary (west's
// gated on each primary's replica). Every check must compare values of both
// shards and find none stale, both regions must invalidate, and both
// sidecars must report both sources streaming.
func TestDemoShards(t *testing.T) {
	out := &lockedBuffer{}
	var errOut bytes.Buffer
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- cmdDemo(ctx, []string{"--shards", "2", "--http", "0"}, out, &errOut) }()
	var stopErr error
	stopped := false
	stop := func() error {
		if !stopped {
			cancel()
			stopErr, stopped = <-done, true
		}
		return stopErr
	}
	t.Cleanup(func() { stop() }) //nolint:errcheck // reported where it matters
	defer func() {
		if t.Failed() {
			t.Logf("demo output:\n%s\nstderr:\n%s", out.String(), errOut.String())
		}
	}()

	// Four PostgreSQL servers start one after the other: on a loaded
	// machine that takes a while, and the test waits for the demo's lines.
	cluster.Eventually(t, 4*time.Minute, func() error {
		select {
		case err := <-done:
			stopErr, stopped = err, true
			return nil
		default:
		}
		lines := summaryRE.FindAllStringSubmatch(out.String(), -1)
		if len(lines) < 2 {
			return fmt.Errorf("%d summary lines, want 2", len(lines))
		}
		// Each shard holds half of the rows: a check of one shard only
		// would never see more than half of what both regions cache. How
		// much is cached grows with the readers, so wait for a line that
		// checked more than one shard's worth.
		if !slices.ContainsFunc(lines, func(s []string) bool { n, _ := strconv.Atoi(s[5]); return n > demo.Rows }) {
			return fmt.Errorf("no summary line checked more than one shard's worth (%d) yet", demo.Rows)
		}
		return nil
	})
	if stopped {
		t.Fatalf("demo stopped before its summary lines showed both shards checked: %v", stopErr)
	}
	text := out.String()
	m := dashRE.FindStringSubmatch(text)
	if m == nil {
		t.Fatal("demo did not print the dashboard URL")
	}
	statusURL := strings.TrimSuffix(m[1], "/") + "/api/status"
	requireProxiesInFleet(t, statusURL, "east", "west")
	requireSources(t, statusURL, map[string]bool{"east-1": false, "west-1": true}, "shard1", "shard2")
	if err := stop(); err != nil {
		t.Fatalf("demo: %v", err)
	}

	dir := tempDirRE.FindStringSubmatch(text)
	if dir == nil {
		t.Fatal("demo did not say where its temp dir is")
	}
	if _, err := os.Stat(dir[1]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir %s still exists after the demo (stat: %v)", dir[1], err)
	}
	var eastInv, westInv int
	for i, s := range summaryRE.FindAllStringSubmatch(out.String(), -1) {
		if s[4] != "0" {
			t.Errorf("line %d: stale values reported by a working system: %s", i+1, s[0])
		}
		if n, _ := strconv.Atoi(s[2]); n > 0 {
			eastInv++
		}
		if n, _ := strconv.Atoi(s[3]); n > 0 {
			westInv++
		}
	}
	if eastInv == 0 || westInv == 0 {
		t.Errorf("lines with east invalidations: %d, west: %d; want both > 0", eastInv, westInv)
	}
}

// requireSources polls /api/status until each sidecar (node name ->
// whether it gates on replicas) reports exactly the named sources, each
// streaming from its slot, with a replica where it gates.
func requireSources(t *testing.T, statusURL string, sidecars map[string]bool, names ...string) {
	t.Helper()
	cluster.Eventually(t, 30*time.Second, func() error {
		v, err := statusView(statusURL)
		if err != nil {
			return err
		}
		for node, gated := range sidecars {
			i := slices.IndexFunc(v.Fleet, func(m region.Member) bool { return m.Name == node && m.Role == "sidecar" })
			if i < 0 || v.Fleet[i].Status == nil {
				return fmt.Errorf("sidecar %s not in the fleet with a status", node)
			}
			srcs := v.Fleet[i].Status.Sources
			var got []string
			for _, s := range srcs {
				got = append(got, s.Name)
				if s.Slot == nil || !s.Slot.Streaming {
					return fmt.Errorf("%s source %s not streaming: %+v", node, s.Name, s.Slot)
				}
				if (s.Replica != nil) != gated {
					return fmt.Errorf("%s source %s replica = %+v, want gated %v", node, s.Name, s.Replica, gated)
				}
			}
			if !slices.Equal(got, names) {
				return fmt.Errorf("%s sources %v, want %v", node, got, names)
			}
		}
		return nil
	})
}
