package main

import (
	"context"
	"io"

	"github.com/cachesync/cachesync/cmd/demo"
)

// cmdDemo is `cachesync demo`: its flags.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	duration := fs.Duration("duration", 0, "stop after this long (0: run until Ctrl-C)")
	dev := fs.Bool("dev", false, "component logs on the terminal (console format) instead of a file in the temp dir")
	httpPort := fs.Int("http", demo.DefaultConfig().HTTPPort, "dashboard port of the east sidecar (0: any free port; a busy port falls back to a free one)")
	shards := fs.Int("shards", demo.DefaultConfig().Shards, "PostgreSQL primaries (shards), each with a replica; every sidecar tails them all")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	cfg := demo.DefaultConfig()
	cfg.Out, cfg.Dev, cfg.Log, cfg.HTTPPort, cfg.Version = stdout, *dev, logConfig(*dev), *httpPort, version
	cfg.Shards = *shards
	return demo.Run(ctx, cfg)
}
