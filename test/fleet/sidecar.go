package fleet

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/cmd/local"
	"github.com/cachesync/cachesync/invalidator"
	"github.com/cachesync/cachesync/region"
	"github.com/cachesync/cachesync/test/cluster"
)

// sidecarReadyTimeout covers building nothing (the binary is built once) but
// connecting, checking the catalog and creating a slot on a busy machine.
const sidecarReadyTimeout = 60 * time.Second

// SidecarConfig is what a test says about a sidecar; File turns it into
// cmd/config's Config, which WriteSidecarConfig marshals into the file
// `cachesync sidecar --config` reads. Empty fields keep the schema's defaults, except the listen addresses, which always get free
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

// WriteSidecarConfig fills the free ports of cfg and writes its File to a
// temporary directory; it returns the filled config and the file's path.
func WriteSidecarConfig(t testing.TB, cfg SidecarConfig) (SidecarConfig, string) {
	t.Helper()
	if cfg.Region == "" {
		cfg.Region = "test"
	}
	if cfg.Node == "" {
		cfg.Node = cfg.Region + "-1"
	}
	for _, addr := range []*string{&cfg.HTTPListen, &cfg.ClusterBind, &cfg.ProxyListen} {
		if *addr == "" {
			*addr = freeAddr(t)
		}
	}
	return cfg, WriteConfig(t, "sidecar.yaml", cfg.File())
}

// File is the config cfg stands for: cmd/config's defaults (config.Default,
// config.DefaultSource) with what cfg sets over them, so that what a test
// leaves out is exactly what a file that says nothing gets.
func (c SidecarConfig) File() config.Config {
	src := config.DefaultSource()
	src.Source, src.Replica = c.Source, c.Replica
	src.Slot = config.DefaultSlot(c.Region)
	setStr(&src.Slot, c.Slot)
	setStr(&src.Publication, c.Publication)
	setDur(&src.StatusInterval, c.StatusInterval)
	setDur(&src.HeartbeatInterval, c.HeartbeatInterval)
	if c.FlushOnNewSlot != nil {
		src.FlushOnNewSlot = *c.FlushOnNewSlot
	}

	f := config.Default()
	f.Region, f.Node = c.Region, c.Node
	f.Postgres = config.Sources{src}
	f.Memcache.Servers, f.Memcache.Gutter = c.Servers, c.Gutter
	setStr(&f.Memcache.Invalidate, c.Invalidate)
	setDur(&f.Memcache.StaleTTL, c.StaleTTL)
	f.Tables = make(map[string]config.Table, len(c.Tables))
	for name, keys := range c.Tables {
		f.Tables[name] = config.Table{Keys: keys, Truncate: invalidator.TruncateLog, Value: c.Values[name]}
	}
	f.Proxy.Listen = c.ProxyListen
	f.Cluster.Bind, f.Cluster.Join = c.ClusterBind, c.Join
	f.HTTP.Listen, f.HTTP.PProf = c.HTTPListen, c.PProf
	if cc := c.Consistency; cc != nil {
		f.Consistency.Sample = cc.Sample
		setDur(&f.Consistency.After, cc.After)
		if cc.MaxPerSecond > 0 {
			f.Consistency.MaxPerSecond = cc.MaxPerSecond
		}
	}
	return f
}

// ConsistencyConfig is the consistency section of a sidecar's config; zero
// After and MaxPerSecond keep the defaults.
type ConsistencyConfig struct {
	Sample       float64
	After        time.Duration
	MaxPerSecond int
}

// setStr and setDur override a default with what the test set, if it set
// anything.
func setStr(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func setDur(dst *config.Duration, d time.Duration) {
	if d != 0 {
		*dst = config.Duration(d)
	}
}

// Sidecar is a running `cachesync sidecar`.
type Sidecar struct {
	*cluster.Process
	Config     SidecarConfig
	ConfigPath string // holds Config.File(), marshalled
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
	p := cluster.StartProcess(t, "sidecar "+cfg.Node, cluster.Binary(t), "sidecar", "--config", path)
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
	waitReady(t, s.Process, timeout, "sidecar", s.Ready)
	if s.Exited() {
		t.Fatalf("sidecar exited before it was ready:\n%s", s.LogTail(cluster.LogTailLines))
	}
}

// Ready is one /readyz probe: nil when the sidecar says it is ready.
func (s *Sidecar) Ready() error { return local.Readyz(s.Config.HTTPListen) }

// View is the sidecar's /api/status: this node, the fleet it sees, and the
// regions' summaries.
func (s *Sidecar) View() (region.StatusView, error) {
	var v region.StatusView
	body, code, err := cluster.HTTPGet("http://" + s.Config.HTTPListen + "/api/status")
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
