package proxy

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

func BenchmarkDevSlap(b *testing.B) {
	mc, mcPid := startBenchMemcached(b)
	px := startProxy(b, nil, mc)
	perf := exec.Command("perf", "stat", "-e", "syscalls:sys_enter_write,syscalls:sys_enter_read,syscalls:sys_enter_futex,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_nanosleep,context-switches", "-p", fmt.Sprint(os.Getpid()), "--", "sleep", "4")
	perf.Stdout, perf.Stderr = os.Stdout, os.Stdout
	_ = perf.Start()
	time.Sleep(200 * time.Millisecond)
	r := memcaslap(b, px.Addr(), mcPid, 0)
	_ = perf.Wait()
	fmt.Printf("ops/s %.0f total %.0f proxy µs/op %.1f\n", r.ops, r.total, r.targetCPU/r.total*1e6)
}
