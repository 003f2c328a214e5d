package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/invalidator/audit"
)

// errInconsistent makes `cachesync check` exit non-zero when it found a
// cached value that the database contradicts.
var errInconsistent = errors.New("inconsistent keys found")

// cmdCheck compares the region's memcached with the database its readers
// fill from (postgres.replica, else postgres.source), for every table that
// has a `value` template saying what the app caches per row.
func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", stderr)
	path := fs.String("config", "", "the region's config file (a sidecar's)")
	dsn := fs.String("db", "", "database to compare with (default: postgres.replica, else postgres.source)")
	examples := fs.Int("examples", 10, "inconsistent keys to print at most")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfigFlag(fs, *path, config.RoleSidecar)
	if err != nil {
		return err
	}
	acfg, err := auditConfig(cfg, *dsn, *examples, stderr)
	if err != nil {
		return err
	}
	rep, err := audit.Check(ctx, acfg)
	if err != nil {
		return fmt.Errorf("check region %s: %w", cfg.Region, err)
	}
	fmt.Fprintf(stdout, "region %s: %s\n", cfg.Region, rep)
	for _, e := range rep.Examples {
		fmt.Fprintf(stdout, "  inconsistent %s\n", e)
	}
	if rep.Inconsistent > 0 {
		return fmt.Errorf("region %s: %d %w", cfg.Region, rep.Inconsistent, errInconsistent)
	}
	return nil
}

// auditConfig keeps the tables that say what the app caches; the others
// cannot be compared and are named on stderr so the operator knows.
func auditConfig(cfg Config, dsn string, examples int, stderr io.Writer) (audit.Config, error) {
	a, skipped, err := cfg.Audit(dsn, examples)
	if err != nil {
		return a, err
	}
	for _, name := range skipped {
		fmt.Fprintf(stderr, "check: skipping %s: no tables.%s.value says what the app caches\n", name, name)
	}
	if len(a.Tables) == 0 {
		return a, fmt.Errorf("%w: no table has a value template (tables.<t>.value) to compare with", errUsage)
	}
	return a, nil
}
