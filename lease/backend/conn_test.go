package backend

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
)

// TestEveryOpCompletesWhenConnectionsDie kills the server's connections
// while many callers write and read through them: every op must complete
// (with its own reply or an error, never another's) and the pool must
// serve again afterwards.
func TestEveryOpCompletesWhenConnectionsDie(t *testing.T) {
	f := startFake(t)
	cfg := DefaultConfig()
	cfg.Servers = []string{f.ln.Addr().String()}
	cfg.ProbeInterval = 5 * time.Millisecond
	p := runPool(t, cfg)
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			op := NewOp()
			op.Kind = ReplyMeta
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				want := fmt.Sprintf("%d-%d", g, i)
				op.Req = []byte("echo " + want + "\r\n")
				p.Do(0, op)
				if err := op.Wait(); err != nil {
					failed.Add(1)
					continue
				}
				if string(op.Body()) != want || !strings.HasPrefix(string(op.Header()), "VA ") {
					t.Errorf("got %q / %q, want %q", op.Header(), op.Body(), want)
					return
				}
				ok.Add(1)
			}
		}()
	}
	for range 5 {
		start := ok.Load()
		cluster.Eventually(t, 10*time.Second, func() error {
			if n := ok.Load(); n <= start+200 {
				return fmt.Errorf("%d ops answered since the last cut", n-start)
			}
			return nil
		})
		f.closeConns()
	}
	close(stop)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("callers still waiting: an op never completed")
	}
	if failed.Load() == 0 {
		t.Fatal("no op failed: the connections were not cut under load")
	}
	t.Logf("%d ops answered, %d failed", ok.Load(), failed.Load())
}
