package region

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// csp allows nothing but this origin's own files and API: the page works
// offline and a compromised figure cannot pull in script.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// StatusView is /api/status: this node, the fleet and the per-region view.
type StatusView struct {
	Node    NodeStatus      `json:"node"`
	Fleet   []Member        `json:"fleet"`
	Regions []RegionSummary `json:"regions"`
}

// FleetView is /api/fleet: what the dashboard draws.
type FleetView struct {
	Node           string                    `json:"node"`
	Region         string                    `json:"region"`
	GeneratedAt    time.Time                 `json:"generated_at"`
	LagWarnSeconds float64                   `json:"lag_warn_seconds"`
	LagCritSeconds float64                   `json:"lag_crit_seconds"`
	Regions        []RegionSummary           `json:"regions"`
	History        map[string][]HistoryPoint `json:"history"`
}

// Handler serves the dashboard and the API; Run serves it on HTTPListen.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", n.page("index.html"))
	mux.Handle("GET /app.js", n.page("app.js"))
	mux.Handle("GET /style.css", n.page("style.css"))
	mux.HandleFunc("GET /api/status", n.serveStatus)
	mux.HandleFunc("GET /api/fleet", n.serveFleet)
	gatherer := n.cfg.Gatherer
	if gatherer == nil {
		gatherer = prometheus.DefaultGatherer
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", n.serveReady)
	if n.cfg.PProf {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return securityHeaders(mux)
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

func (n *Node) serveReady(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if n.cfg.Ready != nil {
		if err := n.cfg.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(err.Error() + "\n"))
			return
		}
	}
	_, _ = w.Write([]byte("ready\n"))
}

// StatusView builds /api/status.
func (n *Node) StatusView() StatusView {
	fleet := n.Fleet()
	return StatusView{Node: n.currentStatus(), Fleet: fleet, Regions: summarize(fleet, n.thresholds())}
}

func (n *Node) serveStatus(w http.ResponseWriter, _ *http.Request) {
	n.writeJSON(w, n.StatusView())
}

// serveFleet takes ?minutes=N (1..retention, default 5) for the history.
func (n *Node) serveFleet(w http.ResponseWriter, r *http.Request) {
	minutes := 5
	if v := r.URL.Query().Get("minutes"); v != "" {
		m, err := strconv.Atoi(v)
		if err != nil || m < 1 {
			http.Error(w, "minutes: want a positive integer", http.StatusBadRequest)
			return
		}
		minutes = m
	}
	window := min(time.Duration(minutes)*time.Minute, n.cfg.HistoryRetention)
	now := time.Now()
	fleet := n.Fleet()
	n.writeJSON(w, FleetView{
		Node:           n.cfg.Node,
		Region:         n.cfg.Region,
		GeneratedAt:    now.UTC(),
		LagWarnSeconds: n.cfg.LagWarn.Seconds(),
		LagCritSeconds: n.cfg.LagCrit.Seconds(),
		Regions:        summarize(fleet, n.thresholds()),
		History:        n.hist.since(now.Add(-window)),
	})
}

func (n *Node) writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		n.log.Debug("write http response", zap.Error(err))
	}
}
