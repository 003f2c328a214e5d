package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/lease/proxy"
)

func cmdProxy(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("proxy", stderr)
	path := fs.String("config", "", "config file (the proxy reads region, memcache, proxy, cluster and http)")
	listen := fs.String("listen", "", "without --config: address to serve the memcached protocol on")
	backends := fs.String("backends", "", "without --config: memcached servers, host:port,host:port")
	hash := fs.String("hash", proxy.DefaultConfig().Hash, "without --config: ketama or crc32")
	allowFlush := fs.Bool("allow-flush", false, "without --config: pass flush_all to every server")
	httpListen := fs.String("http", "", "dashboard and /metrics address; overrides http.listen (without --config, empty: none)")
	bind := fs.String("bind", "", "memberlist gossip address; overrides cluster.bind (so a sidecar's file can serve a proxy on the same host)")
	gutter := fs.String("gutter", "", "without --config: gutter servers for a down server's keys, host:port,host:port")
	gutterTTL := fs.Duration("gutter-ttl", proxy.DefaultConfig().GutterTTL, "without --config: the longest a value lives in the gutter")
	nodeName := fs.String("node", "", "without --config: this node's name in the fleet (default: hostname-PORT)")
	regionName := fs.String("region", "local", "without --config: the region this proxy serves (dashboard and fleet)")
	join := fs.String("join", "", "memberlist addresses to join, A,B; overrides cluster.join")
	procs := fs.Int("procs", -1, "Go scheduler threads for the proxy; overrides proxy.procs (default 1; 0: one per core)")
	dev := fs.Bool("dev", false, "human-readable console logs instead of JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var cfg Config
	switch {
	case *path != "" && (*listen != "" || *backends != ""):
		fmt.Fprintln(stderr, "proxy takes either --config FILE or --listen ADDR --backends A,B, not both")
		return errUsage
	case *path != "":
		var err error
		if cfg, err = config.Load(*path, config.RoleProxy); err != nil {
			return err
		}
		if *httpListen != "" {
			cfg.HTTP.Listen = *httpListen
		}
	case *listen != "" && *backends != "":
		cfg = config.Default()
		cfg.Region = *regionName
		if _, port, err := net.SplitHostPort(*listen); err == nil && *nodeName == "" {
			// Several flag-configured proxies on one host must not share a
			// name: memberlist keeps one member per name.
			cfg.Node += "-" + port
		}
		if *nodeName != "" {
			cfg.Node = *nodeName
		}
		cfg.Proxy.Listen, cfg.Memcache.Servers = *listen, config.SplitList(*backends)
		cfg.Memcache.Hash, cfg.Proxy.AllowFlush = *hash, *allowFlush
		cfg.Memcache.Gutter, cfg.Memcache.GutterTTL = config.SplitList(*gutter), config.Duration(*gutterTTL)
		cfg.HTTP.Listen = *httpListen
		cfg.Cluster.Bind = "127.0.0.1:0"
		if err := cfg.Check(config.RoleProxy); err != nil {
			return fmt.Errorf("flags: %w", err)
		}
	default:
		fmt.Fprintln(stderr, "proxy needs --config FILE, or --listen ADDR and --backends A,B")
		return errUsage
	}
	if *bind != "" {
		cfg.Cluster.Bind = *bind
	}
	if *join != "" {
		cfg.Cluster.Join = config.SplitList(*join)
	}
	if *procs >= 0 {
		cfg.Proxy.Procs = *procs
	}
	// Only the proxy command sets it: the demo runs every role in one
	// process and keeps Go's default. 0 keeps it too (one per core, the
	// container's CPU limit, or $GOMAXPROCS).
	if cfg.Proxy.Procs > 0 {
		runtime.GOMAXPROCS(cfg.Proxy.Procs)
	}
	return runRole(ctx, cfg, *dev, config.RoleProxy)
}
