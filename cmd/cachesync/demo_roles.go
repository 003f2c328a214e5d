package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/cachesync/cachesync/test/cluster"
)

// demoReadyTimeout bounds how long a sidecar may take to start streaming.
const demoReadyTimeout = 60 * time.Second

// planRegions picks the ports and writes the config files of both regions:
// east reads the primary, west its replica; every node joins east's sidecar.
func planRegions(tb *demoTB, srv *demoServers, dir, eastHTTP string) ([]*demoRegion, error) {
	port := func() string { return fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(tb)) }
	var (
		files []demoNodeFiles
		err   error
	)
	err = tb.start("pick ports", func() {
		seed := port()
		for _, name := range []string{"east", "west"} {
			f := demoNodeFiles{
				region: name, source: srv.primary.DSN(demoDB),
				memcached: srv.mcEast.Addr(), proxyListen: port(),
				sidecarGossip: seed, proxyGossip: port(), join: []string{seed},
				httpListen: eastHTTP,
			}
			if name == "west" {
				f.replica, f.memcached = srv.replica.DSN(demoDB), srv.mcWest.Addr()
				f.sidecarGossip, f.httpListen = port(), port()
			} else {
				f.join = nil
			}
			files = append(files, f)
		}
	})
	if err != nil {
		return nil, err
	}
	var regions []*demoRegion
	for _, f := range files {
		r := &demoRegion{name: f.region, readDSN: f.source, proxyAddr: f.proxyListen, httpAddr: f.httpListen}
		if f.replica != "" {
			r.readDSN = f.replica
		}
		if r.sidecar, r.proxy, err = f.writeConfigs(dir); err != nil {
			return nil, fmt.Errorf("%s config: %w", f.region, err)
		}
		regions = append(regions, r)
	}
	return regions, nil
}

// demoRoles runs the sidecars and proxies in this process, each through
// serve exactly as its subcommand would.
type demoRoles struct {
	log  *zap.Logger
	wg   sync.WaitGroup
	errs chan error
}

func newDemoRoles(log *zap.Logger) *demoRoles {
	return &demoRoles{log: log, errs: make(chan error, 8)}
}

func (r *demoRoles) start(ctx context.Context, cfg Config, role string) {
	build := newSidecar
	if role == "proxy" {
		build = newProxyPart
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := serve(ctx, r.log, cfg, role, build); err != nil && !errors.Is(err, context.Canceled) {
			r.errs <- fmt.Errorf("%s %s: %w", cfg.Region, role, err)
		}
	}()
}

// failed reports the first role that stopped with an error.
func (r *demoRoles) failed() <-chan error { return r.errs }

// wait returns once every role has returned.
func (r *demoRoles) wait() { r.wg.Wait() }

// startAll starts east's sidecar first and waits until it streams, so that
// the two sidecars do not race to create the heartbeat objects, then west's,
// then the proxies.
func (r *demoRoles) startAll(ctx context.Context, regions []*demoRegion) error {
	for _, reg := range regions {
		r.start(ctx, reg.sidecar, "sidecar")
		if err := r.waitReady(ctx, reg); err != nil {
			return err
		}
	}
	for _, reg := range regions {
		r.start(ctx, reg.proxy, "proxy")
	}
	return nil
}

// waitReady polls the sidecar's /readyz, failing early if a role exits.
func (r *demoRoles) waitReady(ctx context.Context, reg *demoRegion) error {
	url := "http://" + reg.httpAddr + "/readyz"
	deadline := time.Now().Add(demoReadyTimeout)
	var last error
	for time.Now().Before(deadline) {
		if last = httpOK(ctx, url); last == nil {
			return nil
		}
		select {
		case err := <-r.errs:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s sidecar not ready within %s: %w", reg.name, demoReadyTimeout, last)
}

func httpOK(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s %s", url, res.Status, body)
	}
	return nil
}
