package region

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Run gossips this node's status, keeps it joined and serves HTTP until ctx
// is done or Close is called. On ctx cancellation it leaves the cluster
// gracefully (the others see "left"). It returns after every goroutine it
// started has exited.
func (n *Node) Run(ctx context.Context) error {
	if err := n.Listen(); err != nil {
		return err
	}
	n.mu.Lock()
	if n.running {
		n.mu.Unlock()
		return errors.New("region: Run called twice")
	}
	n.running = true
	srv, ln := n.httpSrv, n.httpLn
	n.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	wg.Go(func() {
		select {
		case <-n.done:
			cancel()
		case <-ctx.Done():
		}
	})
	if srv != nil {
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve http on %s: %w", ln.Addr(), err)
				cancel()
			}
		})
	}
	wg.Go(func() { n.statusLoop(ctx) })
	wg.Go(func() { n.joinLoop(ctx) })
	wg.Go(func() { n.historyLoop(ctx) })

	<-ctx.Done()
	n.stop(true)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// sleepCtx waits d or until ctx is done, and reports whether ctx is still
// live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (n *Node) historyLoop(ctx context.Context) {
	for {
		now := time.Now()
		fleet := n.Fleet()
		sums := summarize(fleet, n.thresholds())
		n.hist.add(now, sums)
		n.metrics.observe(fleet, sums)
		n.tab.forget(now.Add(-n.cfg.ForgetAfter))
		if !sleepCtx(ctx, n.cfg.HistoryInterval) {
			return
		}
	}
}
