package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

// memcaslapRun is each memcaslap run's length; CACHESYNC_MEMCASLAP_TIME
// overrides it (e.g. "5s" while iterating on the proxy).
func memcaslapRun() string {
	if v := os.Getenv("CACHESYNC_MEMCASLAP_TIME"); v != "" {
		return v
	}
	return "10s"
}

// memcaslapPasses is how many palindromic passes over the targets one
// benchmark iteration makes (each target runs twice per pass);
// CACHESYNC_MEMCASLAP_PASSES overrides it. Single 10 s runs on a shared
// 2-core VM swing by ±20%, so the default takes four runs of each.
func memcaslapPasses() int {
	if n, err := strconv.Atoi(os.Getenv("CACHESYNC_MEMCASLAP_PASSES")); err == nil && n > 0 {
		return n
	}
	return 2
}

var slapTPSRe = regexp.MustCompile(`TPS: (\d+)`)

// slapResult is one memcaslap run: its throughput, and the CPU seconds it,
// memcached and the target's own process (proxy or twemproxy) used.
type slapResult struct {
	ops                       float64 // ops/s
	total                     float64 // ops done
	slapCPU, mcCPU, targetCPU float64
}

// memcaslap runs the load generator against addr, measuring the CPU used
// meanwhile by memcached (mcPid) and by the target's process (targetPid;
// -1 = none).
func memcaslap(b *testing.B, addr string, mcPid, targetPid int) slapResult {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cpu := func(pid int) float64 {
		if pid < 0 {
			return 0
		}
		return processCPU(b, pid).Seconds()
	}
	mc0, tg0 := cpu(mcPid), cpu(targetPid)
	cmd := exec.CommandContext(ctx, "/usr/bin/memcaslap", "-s", addr, "-t", memcaslapRun(), "-T", "1", "-c", "32")
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("memcaslap %s: %v\n%s", addr, err, out)
	}
	mc1, tg1 := cpu(mcPid), cpu(targetPid)
	m := slapTPSRe.FindSubmatch(out)
	if m == nil {
		b.Fatalf("memcaslap %s: no TPS in\n%s", addr, out)
	}
	ops, _ := strconv.ParseFloat(string(m[1]), 64)
	d, _ := time.ParseDuration(memcaslapRun())
	st := cmd.ProcessState
	return slapResult{
		ops:       ops,
		total:     ops * d.Seconds(),
		slapCPU:   (st.UserTime() + st.SystemTime()).Seconds(),
		mcCPU:     mc1 - mc0,
		targetCPU: tg1 - tg0,
	}
}

// startBenchMemcached runs memcached as a plain process so its pid (and so
// its CPU use) is known.
func startBenchMemcached(b *testing.B) (addr string, pid int) {
	b.Helper()
	port := cluster.FreePort(b)
	args := []string{"-U", "0", "-m", "64", "-l", "127.0.0.1", "-p", strconv.Itoa(port)}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	p := cluster.StartProcess(b, "memcached", cluster.MemcachedBin, args...)
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	waitListening(b, addr)
	return addr, p.Pid()
}

func startNutcracker(b *testing.B, server string) (addr string, pid int) {
	b.Helper()
	port := cluster.FreePort(b)
	conf := fmt.Sprintf("pool:\n  listen: 127.0.0.1:%d\n  hash: md5\n  distribution: ketama\n  auto_eject_hosts: false\n  servers:\n   - %s:1\n", port, server)
	path := filepath.Join(b.TempDir(), "nutcracker.yml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	p := cluster.StartProcess(b, "nutcracker", "/usr/sbin/nutcracker", "-c", path, "-s", strconv.Itoa(cluster.FreePort(b)))
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	waitListening(b, addr)
	return addr, p.Pid()
}

func waitListening(b *testing.B, addr string) {
	cluster.Eventually(b, 10*time.Second, func() error {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// startBinaryProxy runs `cachesync proxy` on server as its own process, so
// its CPU is its own and it runs as shipped (GOMAXPROCS from proxy.procs).
func startBinaryProxy(b *testing.B, name, server string, extra ...string) (addr string, pid int) {
	b.Helper()
	addr = fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(b))
	args := append([]string{"proxy", "--listen", addr, "--backends", server, "--node", name}, extra...)
	p := cluster.StartProcess(b, name, cluster.Binary(b), args...)
	waitListening(b, addr)
	return addr, p.Pid()
}

// startBinaryProxyConfig runs `cachesync proxy --config` on server, with
// set applied to its proxy section.
func startBinaryProxyConfig(b *testing.B, name, server string, set func(*config.Proxy)) (addr string, pid int) {
	b.Helper()
	addr = fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(b))
	path := fleet.WriteProxyConfig(b, addr, fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(b)), []string{server}, set)
	p := cluster.StartProcess(b, name, cluster.Binary(b), "proxy", "--config", path)
	waitListening(b, addr)
	return addr, p.Pid()
}

// BenchmarkMemcaslap compares memcaslap's throughput against memcached
// directly, through twemproxy, and through `cachesync proxy` as shipped
// (proxy.procs 1) and with one scheduler thread per core (--procs 0), and
// as shipped but without transparent leases (classic_leases: false, the
// cost of the remembered leases), in a
// palindromic order (ABBA) so drifting machine load hits all alike, and
// prints a table with the CPU each process spent per op. Run by `make
// bench`.
func BenchmarkMemcaslap(b *testing.B) {
	mc, mcPid := startBenchMemcached(b)
	tw, twPid := startNutcracker(b, mc)
	px, pxPid := startBinaryProxy(b, "bench-proxy", mc)
	pxAll, pxAllPid := startBinaryProxy(b, "bench-proxy-allcores", mc, "--procs", "0")
	pxPlain, pxPlainPid := startBinaryProxyConfig(b, "bench-proxy-noleases", mc, func(p *config.Proxy) { p.ClassicLeases = false })
	type target struct {
		name, addr string
		pid        int
	}
	targets := []target{
		{"direct", mc, -1}, {"twemproxy", tw, twPid},
		{"proxy", px, pxPid}, {"proxy-0", pxAll, pxAllPid}, {"no-leases", pxPlain, pxPlainPid},
	}
	var order []target
	for i := range targets {
		order = append(order, targets[i])
	}
	for i := range targets {
		order = append(order, targets[len(targets)-1-i])
	}
	sum := map[string]*slapResult{}
	for _, tg := range targets {
		sum[tg.name] = &slapResult{}
	}
	load0 := loadAvg()
	passes := b.N * memcaslapPasses()
	for range passes {
		for _, tg := range order {
			r := memcaslap(b, tg.addr, mcPid, tg.pid)
			s := sum[tg.name]
			s.ops += r.ops
			s.total += r.total
			s.slapCPU += r.slapCPU
			s.mcCPU += r.mcCPU
			s.targetCPU += r.targetCPU
			b.Logf("%-9s %8.0f ops/s  cpu slap %.2fs memcached %.2fs target %.2fs  load %s", tg.name, r.ops, r.slapCPU, r.mcCPU, r.targetCPU, loadAvg())
		}
	}
	runs := float64(2 * passes)
	mean := func(name string) float64 { return sum[name].ops / runs }
	d, t := mean("direct"), mean("twemproxy")
	perOp := func(cpu, total float64) string {
		if total == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f", cpu/total*1e6)
	}
	fmt.Printf("\nmemcaslap -t %s -T 1 -c 32, mean of %d runs each, palindromic order; load average %s -> %s, %d CPUs\n",
		memcaslapRun(), int(runs), load0, loadAvg(), runtime.NumCPU())
	fmt.Printf("%-10s %10s %9s %12s %14s %15s %15s\n", "target", "ops/s", "/direct", "/twemproxy", "target µs/op", "memcached µs/op", "memcaslap µs/op")
	for _, tg := range targets {
		s := sum[tg.name]
		own := perOp(s.targetCPU, s.total)
		if tg.pid < 0 {
			own = "-"
		}
		fmt.Printf("%-10s %10.0f %9.2f %12.2f %14s %15s %15s\n", tg.name, mean(tg.name), mean(tg.name)/d, mean(tg.name)/t,
			own, perOp(s.mcCPU, s.total), perOp(s.slapCPU, s.total))
	}
	fmt.Println("(proxy: cachesync proxy as shipped, proxy.procs 1, classic_leases on; proxy-0: --procs 0, one scheduler thread per core;")
	fmt.Println(" no-leases: as proxy with classic_leases: false, no remembered leases.")
	fmt.Println(" µs/op: CPU seconds (user+system, /proc/PID/stat) per op of twemproxy's or the proxy's process, memcached and memcaslap.)")
	fmt.Println()
	p := mean("proxy")
	b.ReportMetric(d, "direct_ops/s")
	b.ReportMetric(t, "twemproxy_ops/s")
	b.ReportMetric(p, "proxy_ops/s")
	b.ReportMetric(p/d, "proxy/direct")
	b.ReportMetric(p/t, "proxy/twemproxy")
	b.ReportMetric(p/mean("no-leases"), "proxy/no-leases")
	b.ReportMetric(t/d, "twemproxy/direct")
	if s := sum["proxy"]; s.total > 0 {
		b.ReportMetric(s.targetCPU/s.total*1e6, "proxy_cpu_µs/op")
	}
	if s := sum["twemproxy"]; s.total > 0 {
		b.ReportMetric(s.targetCPU/s.total*1e6, "twemproxy_cpu_µs/op")
	}
}

// loadAvg is the 1-minute load average, to report alongside throughput.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
