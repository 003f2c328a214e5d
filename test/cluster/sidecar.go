package cluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cachesync/cachesync/cmd/local"
	"github.com/cachesync/cachesync/region"
)

// sidecarReadyTimeout covers building nothing (the binary is built once) but
// connecting, checking the catalog and creating a slot on a busy machine.
const sidecarReadyTimeout = 60 * time.Second

// SidecarConfig is what a test says about a sidecar; WriteSidecarConfig turns
// it into the YAML file `cachesync sidecar --config` reads. Empty fields keep
// the binary's defaults, except the listen addresses, which always get free
// ports so that tests never collide.
type SidecarConfig struct {
	Region      string // default "test"
	Node        string // default Region + "-1"
	Source      string // the primary's DSN (required)
	Replica     string
	Slot        string
	Publication string
	Servers     []string // memcached host:port (required)
	Gutter      []string // memcache.gutter: servers taking a down server's keys
	Invalidate  string   // "stale" or "delete"
	StaleTTL    time.Duration
	// StatusInterval is how often the confirmed LSN is sent; tests shorten it
	// so that the slot reflects progress quickly.
	StatusInterval    time.Duration
	HeartbeatInterval time.Duration
	// FlushOnNewSlot nil keeps the default (true).
	FlushOnNewSlot *bool
	Tables         map[string][]string // schema.table -> key templates
	// Values maps a table to its value template (tables.<t>.value).
	Values map[string]string
	// Consistency, when set, is the consistency monitor's section.
	Consistency *ConsistencyConfig
	// Join lists memberlist addresses of the fleet to join.
	Join []string
	// PProf serves /debug/pprof/ (http.pprof), for benchmarks that profile.
	PProf bool

	// Filled by WriteSidecarConfig when empty.
	HTTPListen  string
	ClusterBind string
	ProxyListen string
}

// WriteSidecarConfig fills the free ports of cfg and writes it to a file in
// a temporary directory; it returns the filled config and the file's path.
func WriteSidecarConfig(t testing.TB, cfg SidecarConfig) (SidecarConfig, string) {
	t.Helper()
	if cfg.Region == "" {
		cfg.Region = "test"
	}
	if cfg.Node == "" {
		cfg.Node = cfg.Region + "-1"
	}
	if cfg.HTTPListen == "" {
		cfg.HTTPListen = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	}
	if cfg.ClusterBind == "" {
		cfg.ClusterBind = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	}
	if cfg.ProxyListen == "" {
		cfg.ProxyListen = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	}
	// JSON is YAML (flow style), and keeps this package free of a YAML
	// dependency.
	data, err := json.MarshalIndent(cfg.yamlDoc(), "", "  ")
	if err != nil {
		t.Fatalf("sidecar config: %v", err)
	}
	path := filepath.Join(t.TempDir(), "sidecar.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("sidecar config: %v", err)
	}
	return cfg, path
}

// yamlDoc uses the key names of DESIGN.md; only set fields are written, so
// the binary's defaults stay in force for the rest.
func (c SidecarConfig) yamlDoc() map[string]any {
	pg := map[string]any{"source": c.Source}
	setStr(pg, "replica", c.Replica)
	setStr(pg, "slot", c.Slot)
	setStr(pg, "publication", c.Publication)
	setDur(pg, "status_interval", c.StatusInterval)
	setDur(pg, "heartbeat_interval", c.HeartbeatInterval)
	if c.FlushOnNewSlot != nil {
		pg["flush_on_new_slot"] = *c.FlushOnNewSlot
	}
	mc := map[string]any{"servers": c.Servers}
	if len(c.Gutter) > 0 {
		mc["gutter"] = c.Gutter
	}
	setStr(mc, "invalidate", c.Invalidate)
	setDur(mc, "stale_ttl", c.StaleTTL)
	tables := map[string]any{}
	for name, keys := range c.Tables {
		t := map[string]any{"keys": keys}
		setStr(t, "value", c.Values[name])
		tables[name] = t
	}
	httpDoc := map[string]any{"listen": c.HTTPListen}
	if c.PProf {
		httpDoc["pprof"] = true
	}
	doc := map[string]any{
		"region":   c.Region,
		"node":     c.Node,
		"postgres": pg,
		"memcache": mc,
		"tables":   tables,
		"proxy":    map[string]any{"listen": c.ProxyListen},
		"cluster":  map[string]any{"bind": c.ClusterBind, "join": append([]string{}, c.Join...)},
		"http":     httpDoc,
	}
	if cc := c.Consistency; cc != nil {
		m := map[string]any{"sample": cc.Sample}
		setDur(m, "after", cc.After)
		if cc.MaxPerSecond > 0 {
			m["max_per_second"] = cc.MaxPerSecond
		}
		doc["consistency"] = m
	}
	return doc
}

// ConsistencyConfig is the consistency section of a sidecar's config; zero
// After and MaxPerSecond keep the defaults.
type ConsistencyConfig struct {
	Sample       float64
	After        time.Duration
	MaxPerSecond int
}

func setStr(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func setDur(m map[string]any, k string, d time.Duration) {
	if d != 0 {
		m[k] = d.String()
	}
}

// Sidecar is a running `cachesync sidecar`.
type Sidecar struct {
	*Process
	Config     SidecarConfig
	ConfigPath string
}

// LaunchSidecar writes cfg and starts the sidecar without waiting for it.
func LaunchSidecar(t testing.TB, cfg SidecarConfig) *Sidecar {
	t.Helper()
	cfg, path := WriteSidecarConfig(t, cfg)
	return launchSidecar(t, cfg, path)
}

// StartSidecar writes cfg, starts the sidecar and waits until its /readyz
// says it streams from the primary and reaches memcached.
func StartSidecar(t testing.TB, cfg SidecarConfig) *Sidecar {
	t.Helper()
	s := LaunchSidecar(t, cfg)
	s.WaitReady(t, sidecarReadyTimeout)
	return s
}

func launchSidecar(t testing.TB, cfg SidecarConfig, path string) *Sidecar {
	t.Helper()
	p := StartProcess(t, "sidecar "+cfg.Node, Binary(t), "sidecar", "--config", path)
	return &Sidecar{Process: p, Config: cfg, ConfigPath: path}
}

// Relaunch starts a new sidecar process from the same config file (same
// ports, same slot) without waiting for it to be ready. The old one must
// have exited (Kill it first).
func (s *Sidecar) Relaunch(t testing.TB) *Sidecar {
	t.Helper()
	if !s.Exited() {
		t.Fatalf("restart %s: the old process (pid %d) is still running", s.Config.Node, s.Pid())
	}
	return launchSidecar(t, s.Config, s.ConfigPath)
}

// WaitReady polls /readyz; it fails the test early when the process exits.
func (s *Sidecar) WaitReady(t testing.TB, timeout time.Duration) {
	t.Helper()
	s.waitReady(t, timeout, "sidecar", s.Ready)
	if s.Exited() {
		t.Fatalf("sidecar exited before it was ready:\n%s", s.LogTail(logTailLines))
	}
}

// Ready is one /readyz probe: nil when the sidecar says it is ready.
func (s *Sidecar) Ready() error { return local.Readyz(s.Config.HTTPListen) }

// View is the sidecar's /api/status: this node, the fleet it sees, and the
// regions' summaries.
func (s *Sidecar) View() (region.StatusView, error) {
	var v region.StatusView
	body, code, err := HTTPGet("http://" + s.Config.HTTPListen + "/api/status")
	if err != nil {
		return v, err
	}
	if code != http.StatusOK {
		return v, fmt.Errorf("api/status %d: %s", code, body)
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return v, fmt.Errorf("decode api/status: %w", err)
	}
	return v, nil
}

// Status is the node part of the sidecar's /api/status.
func (s *Sidecar) Status() (region.NodeStatus, error) {
	v, err := s.View()
	return v.Node, err
}

// HTTPGet fetches url with a short timeout and returns the body (at most
// 4 MiB) and the status code.
func HTTPGet(url string) ([]byte, int, error) { return local.HTTPGet(url) }
