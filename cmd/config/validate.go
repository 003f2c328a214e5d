package config

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cachesync/cachesync/invalidator"
	"github.com/cachesync/cachesync/lease/keys"
	"github.com/cachesync/cachesync/lease/ring"
	"github.com/cachesync/cachesync/replication"
)

var nameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Check fills the defaults that depend on other keys (a source's slot,
// a table's truncate policy), resolves env:VAR DSNs and validates c for
// role. It is the one validation of a node's config; Parse calls it.
func (c *Config) Check(role Role) error {
	c.complete()
	v := &checker{}
	v.check(c, role)
	if len(v.problems) > 0 {
		return &Error{Problems: v.problems}
	}
	return nil
}

type checker struct{ problems []string }

func (v *checker) problem(key, format string, args ...any) {
	v.problems = append(v.problems, key+": "+fmt.Sprintf(format, args...))
}

func (v *checker) check(c *Config, role Role) {
	if c.Region == "" {
		v.problem("region", "required (the name of this node's region, e.g. west)")
	} else if !nameRE.MatchString(c.Region) {
		v.problem("region", "%q: use lower-case letters, digits and _ (it names the slot)", c.Region)
	}
	if c.Node == "" {
		v.problem("node", "required (the hostname could not be read)")
	}
	v.memcache(&c.Memcache)
	v.hostPort("proxy.listen", c.Proxy.Listen)
	if c.Proxy.MaxConns < 0 {
		v.problem("proxy.max_conns", "must not be negative")
	}
	if c.Proxy.ClassicLeaseLimit < 1 {
		v.problem("proxy.classic_lease_limit", "%d: must be at least 1", c.Proxy.ClassicLeaseLimit)
	}
	if c.Proxy.Procs < 0 {
		v.problem("proxy.procs", "%d: must be 0 (one per core) or more", c.Proxy.Procs)
	}
	if c.Consistency.Sample < 0 || c.Consistency.Sample > 1 {
		v.problem("consistency.sample", "%g: must be between 0 and 1 (a fraction of invalidated keys)", c.Consistency.Sample)
	}
	if c.Consistency.MaxPerSecond < 1 {
		v.problem("consistency.max_per_second", "%d: must be at least 1", c.Consistency.MaxPerSecond)
	}
	v.hostPort("cluster.bind", c.Cluster.Bind)
	for _, j := range c.Cluster.Join {
		v.hostPort("cluster.join", j)
	}
	if c.HTTP.Listen != "" {
		v.hostPort("http.listen", c.HTTP.Listen)
	}
	if c.Cluster.KeyFile != "" {
		if _, err := os.Stat(c.Cluster.KeyFile); err != nil {
			v.problem("cluster.key_file", "%v", err)
		}
	}
	if role == RoleProxy {
		return
	}
	if !slices.ContainsFunc(c.Postgres, func(s Source) bool { return s.Source != "" }) {
		if role == RoleSidecar {
			key := "postgres.source"
			if len(c.Postgres) > 1 {
				key = "postgres"
			}
			v.problem(key, "required for a sidecar: the primary's DSN (postgres://user@host:5432/db, or env:VAR)")
		}
		return
	}
	v.sources(c.Postgres)
	v.tables(c.Tables)
}

func (v *checker) memcache(m *Memcache) {
	if len(m.Servers) == 0 {
		v.problem("memcache.servers", "required: at least one host:port")
	}
	for _, s := range m.Servers {
		v.hostPort("memcache.servers", s)
	}
	for _, s := range m.Gutter {
		v.hostPort("memcache.gutter", s)
		if slices.Contains(m.Servers, s) {
			v.problem("memcache.gutter", "%q is also in memcache.servers: the gutter must be other servers", s)
		}
	}
	if m.Hash != ring.KindKetama && m.Hash != ring.KindCRC32 {
		v.problem("memcache.hash", "%q: must be ketama or crc32", m.Hash)
	}
	if m.Invalidate != invalidator.ModeStale && m.Invalidate != invalidator.ModeDelete {
		v.problem("memcache.invalidate", "%q: must be stale (md I) or delete", m.Invalidate)
	}
	if m.Invalidate == invalidator.ModeStale && m.StaleTTL < Duration(time.Second) {
		v.problem("memcache.stale_ttl", "%s: must be at least 1s", m.StaleTTL)
	}
	if m.GutterTTL < Duration(time.Second) {
		v.problem("memcache.gutter_ttl", "%s: must be at least 1s (memcached's expiry is in seconds)", m.GutterTTL)
	}
	if m.BatchSize < 1 {
		v.problem("memcache.batch_size", "must be at least 1")
	}
}

// SourceKey is the path of source i's keys in problems: "postgres" for a
// single unnamed primary, postgres.<name> in a list.
func SourceKey(sources Sources, i int) string {
	if len(sources) == 1 && sources[0].Name == "" {
		return "postgres"
	}
	return "postgres" + elemKey(i, sources[i].Name)
}

func (v *checker) sources(sources Sources) {
	type place struct{ server, slot string }
	seen := map[place]bool{}
	names := map[string]bool{}
	for i := range sources {
		s := &sources[i]
		key := SourceKey(sources, i)
		switch {
		case s.Name == "" && len(sources) > 1:
			v.problem(key+".name", "required when postgres lists several sources (it labels the source's metrics and status)")
		case s.Name != "" && !nameRE.MatchString(s.Name):
			v.problem(key+".name", "%q: use lower-case letters, digits and _", s.Name)
		case names[s.Name]:
			v.problem(key+".name", "%q: two sources with the same name", s.Name)
		}
		names[s.Name] = true
		if s.Source == "" {
			v.problem(key+".source", "required: the primary's DSN (postgres://user@host:5432/db, or env:VAR)")
		}
		if !nameRE.MatchString(s.Slot) || len(s.Slot) > 63 {
			v.problem(key+".slot", "%q: a slot name is lower-case letters, digits and _ (at most 63)", s.Slot)
		}
		if !nameRE.MatchString(s.Publication) {
			v.problem(key+".publication", "%q: use lower-case letters, digits and _", s.Publication)
		}
		for _, d := range []struct {
			key string
			dsn *string
		}{{key + ".source", &s.Source}, {key + ".replica", &s.Replica}} {
			if err := resolveDSN(d.dsn); err != nil {
				v.problem(d.key, "%v", err)
			}
		}
		if s.Source == "" {
			continue
		}
		server, err := serverOf(s.Source)
		if err != nil {
			v.problem(key+".source", "%v", err)
			continue
		}
		// Two sources consuming one slot on one server would take turns
		// as each other's standby, and one would never stream.
		p := place{server: server, slot: s.Slot}
		if seen[p] {
			v.problem(key+".slot", "%s: another source uses this slot on %s; give each source on one server its own slot", s.Slot, server)
		}
		seen[p] = true
	}
}

// serverOf is the DSN's first host:port, which names the server a slot
// lives on.
func serverOf(dsn string) (string, error) {
	pc, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "", fmt.Errorf("%s: %s", replication.RedactDSN(dsn), replication.ScrubSecrets(err.Error()))
	}
	return net.JoinHostPort(pc.Host, strconv.Itoa(int(pc.Port))), nil
}

func (v *checker) tables(tables map[string]Table) {
	if len(tables) == 0 {
		v.problem("tables", "required for a sidecar: at least one table with its key templates")
	}
	for _, name := range TableNames(tables) {
		t := tables[name]
		key := "tables." + name
		if !qualifiedTable(name) {
			v.problem(key, "name the table as schema.table, quoted as in SQL where needed (e.g. public.users, public.\"my-table\")")
		}
		if len(t.Keys) == 0 {
			v.problem(key+".keys", "required: at least one key template such as \"user:{id}\"")
		}
		for _, k := range t.Keys {
			if _, err := keys.Columns(k); err != nil {
				v.problem(key+".keys", "%q: %v", k, err)
			}
		}
		if t.Truncate != invalidator.TruncateLog && t.Truncate != invalidator.TruncateFlush {
			v.problem(key+".truncate", "%q: must be log or flush", t.Truncate)
		}
	}
}

// qualifiedTable: name parses as schema.table. A bare name would be in
// public, and a schema before a qualified name is one part too many.
func qualifiedTable(name string) bool {
	_, err := replication.ParseTable(name)
	_, extra := replication.ParseTable("x." + name)
	return err == nil && extra != nil
}

func (v *checker) hostPort(key, s string) {
	if _, port, err := net.SplitHostPort(s); err != nil {
		v.problem(key, "%q: expected host:port", s)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.problem(key, "%q: bad port", s)
	}
}

// resolveDSN replaces "env:VAR" with the variable's value, so a password
// need not sit in the file.
func resolveDSN(dsn *string) error {
	name, ok := strings.CutPrefix(*dsn, "env:")
	if !ok {
		return nil
	}
	val, set := os.LookupEnv(name)
	if !set || val == "" {
		return fmt.Errorf("environment variable %s is not set", name)
	}
	*dsn = val
	return nil
}
