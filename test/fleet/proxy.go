package fleet

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/cmd/local"
	"github.com/cachesync/cachesync/test/cluster"
)

// proxyReadyTimeout bounds a proxy's start: it only needs its backends.
const proxyReadyTimeout = 30 * time.Second

// ProxyFile is the config of a `cachesync proxy --config` in region "test":
// the proxy on listen in front of servers, its HTTP on httpAddr, gossip on
// a port of its own choosing, everything else the schema's defaults, and
// then set (if not nil) applied to its proxy section.
func ProxyFile(listen, httpAddr string, servers []string, set func(*config.Proxy)) config.Config {
	c := config.Default()
	c.Region, c.Node = "test", "proxy-"+strings.ReplaceAll(listen, ":", "-")
	c.Memcache.Servers = servers
	c.Proxy.Listen = listen
	c.Cluster.Bind = "127.0.0.1:0"
	c.HTTP.Listen = httpAddr
	if set != nil {
		set(&c.Proxy)
	}
	return c
}

// WriteProxyConfig writes ProxyFile's config and returns the file's path.
func WriteProxyConfig(t testing.TB, listen, httpAddr string, servers []string, set func(*config.Proxy)) string {
	t.Helper()
	return WriteConfig(t, "proxy.yaml", ProxyFile(listen, httpAddr, servers, set))
}

// StartProxy runs `cachesync proxy` serving listen, with its HTTP endpoints
// on httpAddr, on the memcached servers backends (host:port,host:port) and
// the extra arguments, and waits until its /readyz says ready. It is killed
// at t.Cleanup.
func StartProxy(t testing.TB, name, listen, httpAddr, backends string, extra ...string) *cluster.Process {
	t.Helper()
	args := append([]string{"proxy", "--listen", listen, "--backends", backends, "--http", httpAddr}, extra...)
	p := cluster.StartProcess(t, name, cluster.Binary(t), args...)
	waitReady(t, p, proxyReadyTimeout, "proxy", func() error { return local.Readyz(httpAddr) })
	return p
}

// waitReady polls probe until it returns nil, and fails the test early, with
// the end of the output, when the process exits; kind names it in errors.
func waitReady(t testing.TB, p *cluster.Process, timeout time.Duration, kind string, probe func() error) {
	t.Helper()
	if err := p.WaitReady(context.Background(), timeout, kind, probe); err != nil {
		t.Fatalf("%v", err)
	}
}
