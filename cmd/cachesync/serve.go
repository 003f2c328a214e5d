package main

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/cmd/node"
)

// runRole is a role's command after its flags: logging, then the node.
func runRole(ctx context.Context, cfg Config, dev bool, role config.Role) error {
	log, err := newLogger(dev)
	if err != nil {
		return fmt.Errorf("logger: %w", err)
	}
	defer log.Sync() //nolint:errcheck // nothing useful to do at exit
	return serve(ctx, log, cfg, role)
}

// serve runs one role of this process until ctx is done.
func serve(ctx context.Context, log *zap.Logger, cfg Config, role config.Role) error {
	return node.Serve(ctx, node.Config{File: cfg, Role: role, Version: version, Logger: log})
}
