package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/cachesync/cachesync/replication"
)

func cmdCheckConfig(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check-config", stderr)
	path := fs.String("config", "", "config file to check")
	role := fs.String("role", "", "check for this role only: sidecar or proxy (default: sidecar when postgres.source is set)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfigFlag(fs, *path, *role)
	if err != nil {
		return err
	}
	printConfig(stdout, cfg)
	fmt.Fprintf(stdout, "# %s: ok\n", *path)
	return nil
}

// printConfig writes the effective config (defaults filled in, secrets
// redacted) so an operator sees what the node will actually do.
func printConfig(w io.Writer, c Config) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("region: %s", c.Region)
	p("node: %s", c.Node)
	if c.Postgres.Source != "" {
		p("postgres:")
		p("  source: %s", replication.RedactDSN(c.Postgres.Source))
		if c.Postgres.Replica != "" {
			p("  replica: %s", replication.RedactDSN(c.Postgres.Replica))
		}
		p("  slot: %s", c.Postgres.Slot)
		p("  publication: %s", c.Postgres.Publication)
		p("  flush_on_new_slot: %t", c.Postgres.FlushOnNewSlot)
		p("  status_interval: %s", c.Postgres.StatusInterval)
		p("  heartbeat_interval: %s", c.Postgres.HeartbeatInterval)
		p("  retained_wal_warn_bytes: %d", c.Postgres.RetainedWALWarnBytes)
	}
	p("memcache:")
	p("  servers: [%s]", strings.Join(c.Memcache.Servers, ", "))
	p("  hash: %s", c.Memcache.Hash)
	p("  invalidate: %s", c.Memcache.Invalidate)
	p("  stale_ttl: %s", c.Memcache.StaleTTL)
	p("  batch_size: %d", c.Memcache.BatchSize)
	p("  batch_delay: %s", c.Memcache.BatchDelay)
	if len(c.Tables) > 0 {
		p("tables:")
		for _, n := range c.tableNames() {
			t := c.Tables[n]
			p("  %s:", n)
			p("    keys: [%s]", quoteAll(t.Keys))
			p("    truncate: %s", t.Truncate)
			if t.Value != "" {
				p("    value: %q", t.Value)
			}
		}
	}
	p("proxy:")
	p("  listen: %s", c.Proxy.Listen)
	p("  lease_ttl: %s", c.Proxy.LeaseTTL)
	p("  hot_miss_wait: %s", c.Proxy.HotMissWait)
	p("  allow_flush: %t", c.Proxy.AllowFlush)
	p("  max_conns: %d", c.Proxy.MaxConns)
	p("  idle_timeout: %s", c.Proxy.IdleTimeout)
	p("  max_item_size: %d", c.Proxy.MaxItemSize)
	p("  procs: %d", c.Proxy.Procs)
	p("cluster:")
	p("  bind: %s", c.Cluster.Bind)
	p("  join: [%s]", strings.Join(c.Cluster.Join, ", "))
	if c.Cluster.KeyFile != "" {
		p("  key_file: %s", c.Cluster.KeyFile)
	}
	p("http:")
	p("  listen: %s", c.HTTP.Listen)
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
