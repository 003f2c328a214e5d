package main

import (
	"context"
	"io"

	"github.com/cachesync/cachesync/cmd/config"
)

func cmdSidecar(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("sidecar", stderr)
	path := fs.String("config", "", "config file (see README: the annotated config)")
	dev := fs.Bool("dev", false, "human-readable console logs instead of JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfigFlag(fs, *path, config.RoleSidecar)
	if err != nil {
		return err
	}
	return runRole(ctx, cfg, *dev, config.RoleSidecar)
}
