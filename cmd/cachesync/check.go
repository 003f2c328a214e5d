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
// fill from (postgres.replica, else postgres.source; of every source in a
// sharded region), for every table that has a `value` template saying what
// the app caches per row.
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
	// Each source's rows live on its own primary (and the region's replica
	// of it): a sharded region is checked source by source.
	type place struct{ name, dsn string }
	places := []place{{dsn: acfg.DSN}}
	if *dsn == "" && len(cfg.Postgres) > 1 {
		places = places[:0]
		for _, src := range cfg.Postgres {
			places = append(places, place{name: src.Name, dsn: src.ReadDSN()})
		}
	}
	inconsistent := 0
	for _, p := range places {
		where := "region " + cfg.Region
		if p.name != "" {
			where += " source " + p.name
		}
		acfg.DSN = p.dsn
		rep, err := audit.Check(ctx, acfg)
		if err != nil {
			return fmt.Errorf("check %s: %w", where, err)
		}
		fmt.Fprintf(stdout, "%s: %s\n", where, rep)
		for _, e := range rep.Examples {
			fmt.Fprintf(stdout, "  inconsistent %s\n", e)
		}
		inconsistent += rep.Inconsistent
	}
	if inconsistent > 0 {
		return fmt.Errorf("region %s: %d %w", cfg.Region, inconsistent, errInconsistent)
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
