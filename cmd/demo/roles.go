package demo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/cmd/local"
	"github.com/cachesync/cachesync/cmd/node"
)

// readyTimeout bounds how long a sidecar may take to start streaming.
const readyTimeout = 60 * time.Second

// roles runs the sidecars and proxies in this process, each a node.Serve
// exactly as its subcommand runs it.
type roles struct {
	log     *zap.Logger
	version string
	wg      sync.WaitGroup
	errs    chan error
}

func newRoles(log *zap.Logger, version string) *roles {
	return &roles{log: log, version: version, errs: make(chan error, 8)}
}

func (r *roles) start(ctx context.Context, file config.Config, role config.Role) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := node.Serve(ctx, node.Config{File: file, Role: role, Version: r.version, Logger: r.log})
		if ctx.Err() == nil {
			if err == nil {
				err = errors.New("stopped")
			}
			r.errs <- fmt.Errorf("%s %s: %w", file.Region, role, err)
		}
	}()
}

// failed reports the first role that stopped before it was told to.
func (r *roles) failed() <-chan error { return r.errs }

// wait returns once every role has returned.
func (r *roles) wait() { r.wg.Wait() }

// startAll starts (on roleCtx) east's sidecar first and waits until it
// streams, so that the two sidecars do not race to create the heartbeat
// objects, then west's, then the proxies, and waits until each proxy is a
// member of the fleet that east's dashboard shows. It gives up when ctx
// is done.
func (r *roles) startAll(ctx, roleCtx context.Context, regions []*regionSetup) error {
	for _, reg := range regions {
		r.start(roleCtx, reg.sidecar, config.RoleSidecar)
		if err := r.waitFor(ctx, reg.name+" sidecar", func() error { return local.Readyz(reg.httpAddr) }); err != nil {
			return err
		}
	}
	for _, reg := range regions {
		r.start(roleCtx, reg.proxy, config.RoleProxy)
	}
	statusURL := "http://" + regions[0].httpAddr + "/api/status"
	for _, reg := range regions {
		name := reg.proxy.Node + "-proxy"
		if err := r.waitFor(ctx, reg.name+" proxy", func() error { return fleetHas(ctx, statusURL, name) }); err != nil {
			return err
		}
	}
	return nil
}

// waitFor polls cond, failing at once if a role stops.
func (r *roles) waitFor(ctx context.Context, what string, cond func() error) error {
	err := local.Poll(ctx, readyTimeout, func() error {
		select {
		case err := <-r.errs:
			return local.Abort(err)
		default:
		}
		return cond()
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("%s not ready: %w", what, err)
	}
	return err
}
