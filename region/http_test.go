package region

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func newHTTPTestNode(t *testing.T, ready func() error, opts ...func(*Config)) (*Node, *httptest.Server) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg := DefaultConfig()
	cfg.Region, cfg.Node, cfg.HTTPListen = "east", "e1", ""
	cfg.Status = func() NodeStatus { return NodeStatus{Active: true, Healthy: true, QueueDepth: 3} }
	cfg.Ready = ready
	cfg.Gatherer, cfg.Registerer = reg, reg
	for _, o := range opts {
		o(&cfg)
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	srv := httptest.NewServer(n.Handler())
	t.Cleanup(srv.Close)
	return n, srv
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestHTTPHealthAndReady(t *testing.T) {
	var notReady error = errors.New("slot not streaming")
	_, srv := newHTTPTestNode(t, func() error { return notReady })
	if res, body := get(t, srv.URL+"/healthz"); res.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", res.StatusCode, body)
	}
	if res, body := get(t, srv.URL+"/readyz"); res.StatusCode != 503 || !strings.Contains(body, "slot not streaming") {
		t.Fatalf("readyz not ready: %d %q", res.StatusCode, body)
	}
	notReady = nil
	if res, _ := get(t, srv.URL+"/readyz"); res.StatusCode != 200 {
		t.Fatalf("readyz ready: %d", res.StatusCode)
	}
}

func TestHTTPStatusAndFleet(t *testing.T) {
	n, srv := newHTTPTestNode(t, nil)
	n.tab.alive("e1", "127.0.0.1:1", encodeMeta(nodeMeta{Region: "east", Role: "sidecar"}))
	n.tab.alive("w1", "127.0.0.1:2", encodeMeta(nodeMeta{Region: "west", Role: "sidecar"}))
	n.publishStatus()
	n.tab.mergeStatus(envelope{Node: "w1", Seq: 1, Status: NodeStatus{Region: "west", Node: "w1", Role: "sidecar", Healthy: true}})
	n.hist.add(time.Now(), summarize(n.Fleet(), n.thresholds()))

	res, body := get(t, srv.URL+"/api/status")
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	var st StatusView
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if st.Node.Node != "e1" || st.Node.Region != "east" || st.Node.QueueDepth != 3 || len(st.Fleet) != 2 || len(st.Regions) != 2 {
		t.Fatalf("status = %s", body)
	}
	if st.Regions[0].Health != HealthOK || st.Regions[1].Health != HealthBehind {
		t.Fatalf("regions = %+v", st.Regions)
	}

	_, body = get(t, srv.URL+"/api/fleet?minutes=1")
	var fv FleetView
	if err := json.Unmarshal([]byte(body), &fv); err != nil {
		t.Fatal(err)
	}
	if fv.Node != "e1" || len(fv.Regions) != 2 || len(fv.History["east"]) != 1 || fv.LagWarnSeconds != 1 {
		t.Fatalf("fleet = %s", body)
	}
	if res, _ := get(t, srv.URL+"/api/fleet?minutes=x"); res.StatusCode != 400 {
		t.Fatalf("bad minutes: %d", res.StatusCode)
	}
}

func TestHTTPPageIsSelfContained(t *testing.T) {
	_, srv := newHTTPTestNode(t, nil)
	res, _ := get(t, srv.URL+"/")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("csp %q", csp)
	}
	for _, f := range []string{"/", "/app.js", "/style.css"} {
		_, b := get(t, srv.URL+f)
		if strings.Contains(b, "http://") && !strings.Contains(b, "http://www.w3.org/2000/svg") || strings.Contains(b, "https://") {
			t.Errorf("%s refers to an external URL", f)
		}
		if f == "/" && (strings.Contains(b, "<script>") || strings.Contains(b, "style=")) {
			t.Errorf("inline script or style would be blocked by the CSP")
		}
	}
	if res, _ := get(t, srv.URL+"/app.js"); !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("app.js content type %q", res.Header.Get("Content-Type"))
	}
	if res, _ := get(t, srv.URL+"/nope"); res.StatusCode != 404 {
		t.Fatalf("unknown path: %d", res.StatusCode)
	}
}

func TestHTTPMetrics(t *testing.T) {
	n, srv := newHTTPTestNode(t, nil)
	n.metrics.observe([]Member{{State: StateAlive}, {State: StateDead}}, []RegionSummary{{Region: "west", Health: HealthBehind}})
	_, body := get(t, srv.URL+"/metrics")
	for _, want := range []string{`cachesync_cluster_members{state="dead"} 1`, `cachesync_cluster_region_behind{region="west"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestHTTPPprofOnlyWhenAsked: profiles and goroutine dumps are served only
// with PProf (http.pprof: true).
func TestHTTPPprofOnlyWhenAsked(t *testing.T) {
	_, off := newHTTPTestNode(t, nil)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline", "/debug/pprof/symbol"} {
		if res, body := get(t, off.URL+path); res.StatusCode != http.StatusNotFound || strings.Contains(body, "goroutine") {
			t.Errorf("without PProf, %s: %d", path, res.StatusCode)
		}
	}
	_, on := newHTTPTestNode(t, nil, func(c *Config) { c.PProf = true })
	if res, body := get(t, on.URL+"/debug/pprof/"); res.StatusCode != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("with PProf, /debug/pprof/: %d", res.StatusCode)
	}
	if res, body := get(t, on.URL+"/debug/pprof/goroutine?debug=1"); res.StatusCode != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("with PProf, goroutine dump: %d %.80s", res.StatusCode, body)
	}
}
