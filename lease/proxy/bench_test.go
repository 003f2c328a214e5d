package proxy

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
)

const memcaslapRun = "10s"

var tpsRe = regexp.MustCompile(`TPS: (\d+)`)

// memcaslap runs the load generator against addr and returns its ops/s.
func memcaslap(b *testing.B, addr string) float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/bin/memcaslap", "-s", addr, "-t", memcaslapRun, "-T", "1", "-c", "32").CombinedOutput()
	if err != nil {
		b.Fatalf("memcaslap %s: %v\n%s", addr, err, out)
	}
	m := tpsRe.FindSubmatch(out)
	if m == nil {
		b.Fatalf("memcaslap %s: no TPS in\n%s", addr, out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

func startNutcracker(b *testing.B, server string) string {
	b.Helper()
	port := cluster.FreePort(b)
	conf := fmt.Sprintf("pool:\n  listen: 127.0.0.1:%d\n  hash: md5\n  distribution: ketama\n  auto_eject_hosts: false\n  servers:\n   - %s:1\n", port, server)
	path := filepath.Join(b.TempDir(), "nutcracker.yml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	cluster.StartProcess(b, "nutcracker", "/usr/sbin/nutcracker", "-c", path, "-s", strconv.Itoa(cluster.FreePort(b)))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cluster.Eventually(b, 10*time.Second, func() error {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	})
	return addr
}

// BenchmarkMemcaslap compares memcaslap's throughput against memcached
// directly, through twemproxy, and through this proxy, interleaved over two
// rounds so drifting machine load hits all three alike. Run by `make bench`.
func BenchmarkMemcaslap(b *testing.B) {
	mc := cluster.StartMemcached(b)
	tw := startNutcracker(b, mc.Addr())
	px := startProxy(b, nil, mc.Addr())
	targets := []struct{ name, addr string }{
		{"direct", mc.Addr()}, {"twemproxy", tw}, {"proxy", px.Addr()},
	}
	sum := map[string]float64{}
	for i := 0; i < b.N; i++ {
		for round := 1; round <= 2; round++ {
			for _, tg := range targets {
				tps := memcaslap(b, tg.addr)
				sum[tg.name] += tps
				b.Logf("round %d %-9s %10.0f ops/s", round, tg.name, tps)
			}
		}
	}
	n := float64(2 * b.N)
	d, t, p := sum["direct"]/n, sum["twemproxy"]/n, sum["proxy"]/n
	fmt.Printf("\nmemcaslap -t %s -T 1 -c 32 (mean of %d runs each)\n", memcaslapRun, int(n))
	fmt.Printf("  %-10s %10.0f ops/s\n  %-10s %10.0f ops/s\n  %-10s %10.0f ops/s\n", "direct", d, "twemproxy", t, "proxy", p)
	fmt.Printf("  proxy/direct %.2f  proxy/twemproxy %.2f  twemproxy/direct %.2f\n\n", p/d, p/t, t/d)
	b.ReportMetric(d, "direct_ops/s")
	b.ReportMetric(t, "twemproxy_ops/s")
	b.ReportMetric(p, "proxy_ops/s")
	b.ReportMetric(p/d, "proxy/direct")
	b.ReportMetric(p/t, "proxy/twemproxy")
	b.ReportMetric(t/d, "twemproxy/direct")
}
