package proxy

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
)

var gomaxprocsRe = regexp.MustCompile(`(?m)^go_sched_gomaxprocs_threads (\d+)$`)

// gomaxprocs starts the proxy binary with args and reads its GOMAXPROCS from
// its /metrics.
func gomaxprocs(t *testing.T, mc *cluster.Memcached, args ...string) int {
	t.Helper()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(t))
	listen := fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(t))
	args = append([]string{"proxy", "--listen", listen, "--backends", mc.Addr(), "--http", httpAddr}, args...)
	p := cluster.StartProcess(t, "proxy", cluster.Binary(t), args...)
	defer p.Kill()
	var n int
	cluster.Eventually(t, 30*time.Second, func() error {
		if p.Exited() {
			return fmt.Errorf("proxy exited:\n%s", p.Logs())
		}
		res, err := http.Get("http://" + httpAddr + "/metrics")
		if err != nil {
			return err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			return err
		}
		m := gomaxprocsRe.FindSubmatch(body)
		if m == nil {
			return fmt.Errorf("no go_sched_gomaxprocs_threads in /metrics (status %d)", res.StatusCode)
		}
		n, err = strconv.Atoi(string(m[1]))
		return err
	})
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
