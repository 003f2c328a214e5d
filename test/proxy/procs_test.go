package proxy

import (
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

var (
	gomaxprocsRe = regexp.MustCompile(`(?m)^go_sched_gomaxprocs_threads (\d+)$`)
	membersRe    = regexp.MustCompile(`(?m)^cachesync_cluster_members`)
)

// startProxy starts the proxy binary on mc with args and returns its HTTP
// address once it is ready.
func startProxy(t *testing.T, mc *cluster.Memcached, args ...string) (*cluster.Process, string) {
	t.Helper()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(t))
	listen := fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(t))
	return fleet.StartProxy(t, "proxy", listen, httpAddr, mc.Addr(), args...), httpAddr
}

// scrape polls the proxy's /metrics until re matches it, and returns the
// match and its groups.
func scrape(t *testing.T, p *cluster.Process, httpAddr string, re *regexp.Regexp) [][]byte {
	t.Helper()
	var m [][]byte
	cluster.Eventually(t, 30*time.Second, func() error {
		if p.Exited() {
			return fmt.Errorf("proxy exited:\n%s", p.Logs())
		}
		body, code, err := cluster.HTTPGet("http://" + httpAddr + "/metrics")
		if err != nil {
			return err
		}
		if m = re.FindSubmatch(body); m == nil {
			return fmt.Errorf("no match for %s in /metrics (status %d)", re, code)
		}
		return nil
	})
	return m
}

// gomaxprocs starts the proxy binary with args and reads its GOMAXPROCS from
// its /metrics.
func gomaxprocs(t *testing.T, mc *cluster.Memcached, args ...string) int {
	t.Helper()
	p, httpAddr := startProxy(t, mc, args...)
	defer p.Kill()
	n, err := strconv.Atoi(string(scrape(t, p, httpAddr, gomaxprocsRe)[1]))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The proxy runs one scheduler thread unless told otherwise (proxy.procs,
// like mcrouter's num-proxies); --procs 0 gives Go's own default.
func TestProxySchedulerThreads(t *testing.T) {
	mc := cluster.StartMemcached(t)
	if n := gomaxprocs(t, mc); n != 1 {
		t.Errorf("default: GOMAXPROCS %d, want 1", n)
	}
	if n := gomaxprocs(t, mc, "--procs", "3"); n != 3 {
		t.Errorf("--procs 3: GOMAXPROCS %d, want 3", n)
	}
	if n, want := gomaxprocs(t, mc, "--procs", "0"), runtime.GOMAXPROCS(0); n != want {
		t.Errorf("--procs 0: GOMAXPROCS %d, want Go's default here, %d", n, want)
	}
}

// A proxy is a member of the fleet, and its /metrics shows the fleet as it
// sees it, as a sidecar's does.
func TestProxyClusterMetrics(t *testing.T) {
	mc := cluster.StartMemcached(t)
	p, httpAddr := startProxy(t, mc)
	scrape(t, p, httpAddr, membersRe)
}
