package proxy

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
)

var recoveredRe = regexp.MustCompile(`accepting client connections again".*?"failed_tries":(\d+)`)

// The shipped proxy, run with 64 descriptors, is flooded with idle
// connections until accept fails (EMFILE): it keeps running, logs the state
// once, and serves again once the clients go away.
func TestProxySurvivesDescriptorExhaustion(t *testing.T) {
	mc := cluster.StartMemcached(t)
	listen := fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(t))
	p := cluster.StartProcess(t, "proxy", "/usr/bin/prlimit", "--nofile=64:64", "--",
		cluster.Binary(t), "proxy", "--listen", listen, "--backends", mc.Addr(), "--http", httpAddr)
	version := func() error { return askVersion(listen) }
	cluster.Eventually(t, 30*time.Second, version)

	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			_ = c.Close()
		}
	}()
	for range 100 {
		nc, err := net.DialTimeout("tcp", listen, 5*time.Second)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		flood = append(flood, nc)
	}
	cluster.Eventually(t, 30*time.Second, func() error {
		if p.Exited() {
			return fmt.Errorf("proxy exited:\n%s", p.Logs())
		}
		if !strings.Contains(p.Logs(), "accepting client connections failed") {
			return fmt.Errorf("no accept failure logged yet")
		}
		return nil
	})
	for _, c := range flood {
		_ = c.Close()
	}
	flood = nil
	// The recovery is logged by the first accept a calm second after the
	// last failure.
	cluster.Eventually(t, 30*time.Second, func() error {
		if err := version(); err != nil {
			return err
		}
		if !recoveredRe.MatchString(p.Logs()) {
			return fmt.Errorf("no recovery logged yet")
		}
		return nil
	})
	if p.Exited() {
		t.Fatalf("proxy exited:\n%s", p.Logs())
	}
	logs := p.Logs()
	failed := strings.Count(logs, "accepting client connections failed")
	tries := 0
	for _, m := range recoveredRe.FindAllStringSubmatch(logs, -1) {
		n, _ := strconv.Atoi(m[1])
		tries += n
	}
	t.Logf("accept failed %d times, %d log lines for it", tries, failed)
	// One line as the failing state starts and one as it ends, whatever
	// the number of tries (TestAcceptBackoffLikeNetHTTP counts them).
	if failed == 0 || failed != len(recoveredRe.FindAllString(logs, -1)) || failed > tries {
		t.Fatalf("want one line per state change (%d failing, %d recovered, %d tries):\n%s", failed, len(recoveredRe.FindAllString(logs, -1)), tries, logs)
	}
}
