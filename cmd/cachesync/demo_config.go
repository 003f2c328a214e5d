package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cachesync/cachesync/cmd/config"
)

// demoRegion is one region of the demo: where its app reads from, and the
// config files its sidecar and proxy run with.
type demoRegion struct {
	name string
	// readDSN is the database the region's app reads (and fills from): the
	// primary in east, the replica in west.
	readDSN   string
	proxyAddr string
	httpAddr  string // the sidecar's dashboard
	sidecar   Config
	proxy     Config
}

// demoNodeFiles describes one region's two nodes before they are written as
// config files.
type demoNodeFiles struct {
	region, source, replica, memcached string
	proxyListen                        string
	sidecarGossip, proxyGossip         string
	join                               []string
	httpListen                         string
}

// writeConfigs writes the sidecar's and the proxy's YAML files into dir and
// loads them back through the same parser as `cachesync sidecar --config`,
// so the demo runs exactly what the files say (and they can be copied).
func (f demoNodeFiles) writeConfigs(dir string) (sidecar, proxy Config, err error) {
	sidecarPath := filepath.Join(dir, f.region+"-sidecar.yaml")
	proxyPath := filepath.Join(dir, f.region+"-proxy.yaml")
	if err := os.WriteFile(sidecarPath, []byte(f.yaml(f.sidecarGossip, f.httpListen)), 0o644); err != nil {
		return Config{}, Config{}, fmt.Errorf("write %s: %w", sidecarPath, err)
	}
	if err := os.WriteFile(proxyPath, []byte(f.yaml(f.proxyGossip, "")), 0o644); err != nil {
		return Config{}, Config{}, fmt.Errorf("write %s: %w", proxyPath, err)
	}
	if sidecar, err = config.Load(sidecarPath, config.RoleSidecar); err != nil {
		return Config{}, Config{}, err
	}
	if proxy, err = config.Load(proxyPath, config.RoleProxy); err != nil {
		return Config{}, Config{}, err
	}
	return sidecar, proxy, nil
}

func (f demoNodeFiles) yaml(gossip, httpListen string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# written by cachesync demo")
	p("region: %s", f.region)
	p("node: %s-1", f.region)
	p("postgres:")
	p("  source: %q", f.source)
	if f.replica != "" {
		p("  replica: %q", f.replica)
	}
	p("memcache:")
	p("  servers: [%s]", f.memcached)
	p("  invalidate: stale")
	p("  stale_ttl: 30s")
	p("tables:")
	p("  public.items:")
	p(`    keys: ["item:{id}", "item_by_name:{name}"]`)
	p("    value: %q", demoItemValue)
	p("proxy:")
	p("  listen: %s", f.proxyListen)
	p("cluster:")
	p("  bind: %s", gossip)
	if len(f.join) > 0 {
		p("  join: [%s]", strings.Join(f.join, ", "))
	}
	p("http:")
	p("  listen: %q", httpListen)
	return b.String()
}
