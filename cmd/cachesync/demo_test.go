package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"go.uber.org/zap"

	"github.com/cachesync/cachesync/region"
	"github.com/cachesync/cachesync/test/cluster"
)

func TestDemoTBTurnsFatalIntoErrorAndCleansUpLIFO(t *testing.T) {
	tb := newDemoTB(zap.NewNop())
	var order []int
	tb.Cleanup(func() { order = append(order, 1) })
	tb.Cleanup(func() { tb.Fatalf("cleanup 2 fails") })
	tb.Cleanup(func() { order = append(order, 3) })

	err := tb.start("step", func() {
		tb.Fatalf("boom %d", 7)
		t.Error("Fatalf returned to its caller")
	})
	if err == nil || err.Error() != "step: boom 7" {
		t.Fatalf("start = %v, want step: boom 7", err)
	}
	if !tb.Failed() {
		t.Error("Failed() = false after Fatalf")
	}
	tb.runCleanups()
	tb.runCleanups() // each cleanup runs once
	if len(order) != 2 || order[0] != 3 || order[1] != 1 {
		t.Errorf("cleanup order = %v, want [3 1] (a failing cleanup does not stop the others)", order)
	}
}

func TestDemoTBLetsOtherPanicsThrough(t *testing.T) {
	tb := newDemoTB(zap.NewNop())
	defer func() {
		if r := recover(); r != "bug" {
			t.Errorf("recovered %v, want the original panic", r)
		}
	}()
	_ = tb.start("step", func() { panic("bug") })
	t.Error("start swallowed a panic that was not Fatalf")
}

func TestSummaryLine(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := newSummary([]string{"east", "west"}, t0)
	inv := func(f float64) *float64 { return &f }
	view := func(hits, misses uint64) region.StatusView {
		return region.StatusView{Regions: []region.RegionSummary{
			{Region: "west", InvalidationsPerSec: inv(12), E2ELag: &region.LagStats{P50: 0.0123, P99: 0.2, Samples: 5},
				Proxy: &region.ProxyTotals{Hits: hits, Misses: misses}},
			{Region: "east", InvalidationsPerSec: inv(40), Proxy: &region.ProxyTotals{Hits: hits, Misses: 0}},
		}}
	}
	got := s.line(t0.Add(5*time.Second), 1000, view(90, 10), nil, staleResult{Checked: 400}, nil)
	want := "[5s] writes/s 200 | invalidations/s east 40 west 12 | lag p50/p99 east - west 12.3ms/200ms | hit rate 94.7% | stale 0 (400 cached values checked)"
	if got != want {
		t.Errorf("line:\n got %s\nwant %s", got, want)
	}
	// The next line's rates are over its own interval only.
	got = s.line(t0.Add(10*time.Second), 1500, view(100, 20), nil, staleResult{}, errors.New("slots behind"))
	want = "[10s] writes/s 100 | invalidations/s east 40 west 12 | lag p50/p99 east - west 12.3ms/200ms | hit rate 66.7% | stale ? (slots behind)"
	if got != want {
		t.Errorf("line:\n got %s\nwant %s", got, want)
	}
}

var (
	summaryRE = regexp.MustCompile(`writes/s (\d+) \| invalidations/s east (\d+) west (\d+) .* \| stale (\S+) \((\d+) cached values checked\)`)
	tempDirRE = regexp.MustCompile(`sidecars and 2 proxies in (\S+)`)
	proxyRE   = regexp.MustCompile(`region east: proxy (\S+) `)
	dashRE    = regexp.MustCompile(`dashboard: (http://\S+)`)
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
	t.Setenv("TMPDIR", os.TempDir()) // the demo points it at its own dir while it runs
	out := &lockedBuffer{}
	var errOut bytes.Buffer
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		done <- cmdDemo(ctx, []string{"--duration", "32s", "--http", "0"}, out, &errOut)
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
	if m := dashRE.FindStringSubmatch(text); m == nil {
		t.Error("demo did not print the dashboard URL")
	} else if err := httpOK(context.Background(), m[1]); err != nil {
		t.Errorf("dashboard: %v", err)
	} else {
		// serve must hand region its registry, or the fleet's own metrics
		// (region/metrics.go) never reach /metrics.
		body := httpGet(t, strings.TrimSuffix(m[1], "/")+"/metrics")
		for _, want := range []string{`cachesync_cluster_members{state="alive"}`, `cachesync_cluster_region_behind{region="east"}`} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	}
	if m := proxyRE.FindStringSubmatch(text); m == nil {
		t.Error("demo did not print east's proxy address")
	} else {
		mc := memcache.New(m[1])
		for id := 1; id <= demoRows; id++ {
			if err := mc.Set(&memcache.Item{Key: "item:" + strconv.Itoa(id), Value: []byte("planted"), Expiration: 60}); err != nil {
				t.Fatalf("plant a wrong value through east's proxy: %v", err)
			}
		}
	}
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
	if wrote == 0 || eastInv == 0 || westInv == 0 {
		t.Errorf("lines with writes>0: %d, east invalidations>0: %d, west invalidations>0: %d; want all > 0", wrote, eastInv, westInv)
	}
	if n, err := strconv.Atoi(lines[before][4]); err != nil || n == 0 {
		t.Errorf("after planting wrong values in east's cache, the check said stale %s: %s", lines[before][4], lines[before][0])
	}
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
