package main

import (
	"context"
	"io"

	"go.uber.org/zap"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/cmd/demo"
)

// cmdDemo is `cachesync demo`: its flags, and the roles it runs (the same
// serve as `cachesync sidecar` and `cachesync proxy`).
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	duration := fs.Duration("duration", 0, "stop after this long (0: run until Ctrl-C)")
	dev := fs.Bool("dev", false, "component logs on the terminal (console format) instead of a file in the temp dir")
	httpPort := fs.Int("http", demo.DefaultConfig().HTTPPort, "dashboard port of the east sidecar (0: any free port; a busy port falls back to a free one)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	cfg := demo.DefaultConfig()
	cfg.Out, cfg.Dev, cfg.Log, cfg.HTTPPort = stdout, *dev, logConfig(*dev), *httpPort
	cfg.Serve = serveRole
	return demo.Run(ctx, cfg)
}

// serveRole runs one of the demo's roles in this process.
func serveRole(ctx context.Context, log *zap.Logger, file config.Config, role config.Role) error {
	build := newSidecar
	if role == config.RoleProxy {
		build = newProxyPart
	}
	return serve(ctx, log, file, string(role), build)
}
