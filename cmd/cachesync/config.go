package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cachesync/cachesync/invalidator"
	"github.com/cachesync/cachesync/lease/keys"
	"github.com/cachesync/cachesync/lease/proxy"
	"github.com/cachesync/cachesync/region"
	"github.com/cachesync/cachesync/replication"
)

// Config is one node's YAML file (DESIGN.md "The commands and the config").
// The same file can serve a sidecar and a proxy.
type Config struct {
	Region   string
	Node     string
	Postgres PostgresConfig
	Memcache MemcacheConfig
	Tables   map[string]TableConfig
	Proxy    ProxyConfig
	Cluster  ClusterConfig
	HTTP     HTTPConfig
}

// PostgresConfig is the replication source, the optional replica, and the
// slot this region consumes.
type PostgresConfig struct {
	Source               string
	Replica              string
	Slot                 string
	Publication          string
	FlushOnNewSlot       bool
	StatusInterval       time.Duration
	HeartbeatInterval    time.Duration
	RetainedWALWarnBytes int64
}

// MemcacheConfig is the region's memcached pool.
type MemcacheConfig struct {
	Servers    []string
	Hash       string
	Invalidate string
	StaleTTL   time.Duration
	BatchSize  int
	BatchDelay time.Duration
}

// TableConfig is one table's key templates.
type TableConfig struct {
	Keys     []string
	Truncate string
	// Value is what the app caches for a row, as a template rendered
	// without encoding ("{id}|{name}"). Only `cachesync check` reads it.
	Value string
}

// ProxyConfig is the lease-aware memcache proxy.
type ProxyConfig struct {
	Listen      string
	LeaseTTL    time.Duration
	HotMissWait time.Duration
	AllowFlush  bool
	MaxConns    int
	IdleTimeout time.Duration
	MaxItemSize int
	// Procs caps the Go scheduler threads (GOMAXPROCS) of `cachesync
	// proxy`; 0 means one per core. The default is 1, like mcrouter's
	// num-proxies and single-threaded twemproxy: the proxy shares its host
	// with the app, and a second thread costs more in cross-thread wakeups
	// than it gains until one core is saturated (README, "The proxy").
	Procs int
}

// ClusterConfig is memberlist membership.
type ClusterConfig struct {
	Bind    string
	Join    []string
	KeyFile string
}

// HTTPConfig is the dashboard, /metrics and health endpoints.
type HTTPConfig struct {
	Listen string
}

// tableNames is the configured tables in order, for output that must not
// change from run to run.
func (c Config) tableNames() []string {
	names := make([]string, 0, len(c.Tables))
	for n := range c.Tables {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// defaultConfig holds every default in one place, so check-config can print
// the effective configuration. The packages' own defaults are taken as they
// are, so the file and the library cannot drift apart.
func defaultConfig() Config {
	host, _ := os.Hostname()
	inv, px, rg := invalidator.DefaultConfig(), proxy.DefaultConfig(), region.DefaultConfig()
	return Config{
		Node: host,
		Postgres: PostgresConfig{
			Publication:          "cachesync",
			FlushOnNewSlot:       true,
			StatusInterval:       replication.DefaultConfig().StatusInterval,
			HeartbeatInterval:    replication.DefaultHeartbeatConfig().Interval,
			RetainedWALWarnBytes: replication.DefaultMonitorConfig().WarnBytes,
		},
		Memcache: MemcacheConfig{
			Hash:       inv.Hash,
			Invalidate: inv.Mode,
			StaleTTL:   inv.StaleTTL,
			BatchSize:  inv.BatchSize,
			BatchDelay: inv.BatchDelay,
		},
		Proxy: ProxyConfig{
			Listen:      px.Listen,
			LeaseTTL:    px.LeaseTTL,
			HotMissWait: px.HotMissWait,
			AllowFlush:  px.AllowFlush,
			MaxConns:    px.MaxConns,
			IdleTimeout: px.IdleTimeout,
			MaxItemSize: px.MaxItemSize,
			Procs:       1,
		},
		Cluster: ClusterConfig{Bind: rg.Bind},
		HTTP:    HTTPConfig{Listen: rg.HTTPListen},
	}
}

// ConfigError lists every problem of a config file, each naming its key.
type ConfigError struct {
	File     string
	Problems []string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("config %s:\n  %s", e.File, strings.Join(e.Problems, "\n  "))
}

// loadConfig reads and validates a node's config for the given role
// ("sidecar", "proxy" or "" for check-config, which checks the sidecar's
// needs when postgres is present).
func loadConfig(path, role string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return parseConfig(path, data, role)
}

// loadConfigFlag loads the file a command's --config flag named, for role;
// without the flag it tells the user and returns errUsage.
func loadConfigFlag(fs *flag.FlagSet, path, role string) (Config, error) {
	if path == "" {
		fmt.Fprintf(fs.Output(), "%s needs --config FILE\n", fs.Name())
		return Config{}, errUsage
	}
	return loadConfig(path, role)
}

func parseConfig(name string, data []byte, role string) (Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, &ConfigError{File: name, Problems: []string{err.Error()}}
	}
	p := &parser{cfg: defaultConfig(), known: map[string]map[string]bool{}}
	if len(root.Content) == 1 {
		p.fill(root.Content[0])
		p.walk(root.Content[0], "")
	} else {
		p.problem("", "empty config: region, memcache.servers and (for a sidecar) postgres.source are required")
	}
	if len(p.problems) == 0 {
		p.validate(role)
	}
	if len(p.problems) > 0 {
		return Config{}, &ConfigError{File: name, Problems: p.problems}
	}
	return p.cfg, nil
}

type parser struct {
	cfg      Config
	problems []string
	// known is every key fill asked for, by parent path: the schema, so
	// that what is read and what is allowed cannot drift apart.
	known map[string]map[string]bool
}

func (p *parser) problem(key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if key != "" {
		msg = key + ": " + msg
	}
	p.problems = append(p.problems, msg)
}

// walk reports keys fill never asked for, with their path and line.
func (p *parser) walk(n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		p.problem(path, "line %d: expected a mapping", n.Line)
		return
	}
	siblings := p.known[path]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := join(path, k.Value)
		if !siblings[k.Value] {
			names := make([]string, 0, len(siblings))
			for s := range siblings {
				names = append(names, s)
			}
			sort.Strings(names)
			p.problem(key, "line %d: unknown key (known: %s)", k.Line, strings.Join(names, ", "))
			continue
		}
		if len(p.known[key]) > 0 && v.Tag != "!!null" {
			p.walk(v, key)
		}
	}
}

// node records path (and its parents) as known keys and returns its node.
func (p *parser) node(root *yaml.Node, path ...string) *yaml.Node {
	parent := ""
	for _, k := range path {
		if p.known[parent] == nil {
			p.known[parent] = map[string]bool{}
		}
		p.known[parent][k] = true
		parent = join(parent, k)
	}
	return lookup(root, path...)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// lookup finds the node at a dotted path below n, or nil.
func lookup(n *yaml.Node, path ...string) *yaml.Node {
	for _, key := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	if n != nil && n.Tag == "!!null" {
		return nil
	}
	return n
}

func (p *parser) str(root *yaml.Node, dst *string, path ...string) {
	n := p.node(root, path...)
	if n == nil {
		return
	}
	if n.Kind != yaml.ScalarNode {
		p.problem(strings.Join(path, "."), "line %d: expected a string", n.Line)
		return
	}
	*dst = n.Value
}

func (p *parser) strs(root *yaml.Node, dst *[]string, path ...string) {
	n := p.node(root, path...)
	if n == nil {
		return
	}
	key := strings.Join(path, ".")
	if n.Kind == yaml.ScalarNode { // "a,b" is accepted too
		*dst = splitList(n.Value)
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.problem(key, "line %d: expected a list", n.Line)
		return
	}
	out := []string{}
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode {
			p.problem(key, "line %d: expected a list of strings", c.Line)
			return
		}
		out = append(out, c.Value)
	}
	*dst = out
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (p *parser) dur(root *yaml.Node, dst *time.Duration, path ...string) {
	var s string
	p.str(root, &s, path...)
	if s == "" {
		return
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		p.problem(strings.Join(path, "."), "%q is not a duration (examples: 500ms, 30s, 2m)", s)
		return
	}
	*dst = d
}

func (p *parser) boolean(root *yaml.Node, dst *bool, path ...string) {
	var s string
	p.str(root, &s, path...)
	if s == "" {
		return
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		p.problem(strings.Join(path, "."), "%q is not true or false", s)
		return
	}
	*dst = b
}

func (p *parser) integer(root *yaml.Node, dst *int64, path ...string) {
	var s string
	p.str(root, &s, path...)
	if s == "" {
		return
	}
	v, err := parseSize(s)
	if err != nil {
		p.problem(strings.Join(path, "."), "%v", err)
		return
	}
	*dst = v
}

// parseSize accepts plain integers and the suffixes KiB, MiB, GiB.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, suffix)), m
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a non-negative integer (suffixes KiB, MiB, GiB allowed)", s)
	}
	return v * mult, nil
}

func (p *parser) fill(root *yaml.Node) {
	c := &p.cfg
	p.str(root, &c.Region, "region")
	p.str(root, &c.Node, "node")

	p.str(root, &c.Postgres.Source, "postgres", "source")
	p.str(root, &c.Postgres.Replica, "postgres", "replica")
	p.str(root, &c.Postgres.Slot, "postgres", "slot")
	p.str(root, &c.Postgres.Publication, "postgres", "publication")
	p.boolean(root, &c.Postgres.FlushOnNewSlot, "postgres", "flush_on_new_slot")
	p.dur(root, &c.Postgres.StatusInterval, "postgres", "status_interval")
	p.dur(root, &c.Postgres.HeartbeatInterval, "postgres", "heartbeat_interval")
	p.integer(root, &c.Postgres.RetainedWALWarnBytes, "postgres", "retained_wal_warn_bytes")

	p.strs(root, &c.Memcache.Servers, "memcache", "servers")
	p.str(root, &c.Memcache.Hash, "memcache", "hash")
	p.str(root, &c.Memcache.Invalidate, "memcache", "invalidate")
	p.dur(root, &c.Memcache.StaleTTL, "memcache", "stale_ttl")
	var bs int64 = int64(c.Memcache.BatchSize)
	p.integer(root, &bs, "memcache", "batch_size")
	c.Memcache.BatchSize = int(bs)
	p.dur(root, &c.Memcache.BatchDelay, "memcache", "batch_delay")

	if tables := p.node(root, "tables"); tables != nil && tables.Kind == yaml.MappingNode {
		c.Tables = map[string]TableConfig{}
		for i := 0; i+1 < len(tables.Content); i += 2 {
			name := tables.Content[i].Value
			var t TableConfig
			p.strs(root, &t.Keys, "tables", name, "keys")
			p.str(root, &t.Truncate, "tables", name, "truncate")
			p.str(root, &t.Value, "tables", name, "value")
			c.Tables[name] = t
		}
	}

	p.str(root, &c.Proxy.Listen, "proxy", "listen")
	p.dur(root, &c.Proxy.LeaseTTL, "proxy", "lease_ttl")
	p.dur(root, &c.Proxy.HotMissWait, "proxy", "hot_miss_wait")
	p.boolean(root, &c.Proxy.AllowFlush, "proxy", "allow_flush")
	mc, item, procs := int64(c.Proxy.MaxConns), int64(c.Proxy.MaxItemSize), int64(c.Proxy.Procs)
	p.integer(root, &mc, "proxy", "max_conns")
	p.integer(root, &item, "proxy", "max_item_size")
	p.integer(root, &procs, "proxy", "procs")
	c.Proxy.MaxConns, c.Proxy.MaxItemSize, c.Proxy.Procs = int(mc), int(item), int(procs)
	p.dur(root, &c.Proxy.IdleTimeout, "proxy", "idle_timeout")

	p.str(root, &c.Cluster.Bind, "cluster", "bind")
	p.strs(root, &c.Cluster.Join, "cluster", "join")
	p.str(root, &c.Cluster.KeyFile, "cluster", "key_file")
	p.str(root, &c.HTTP.Listen, "http", "listen")
}

var (
	nameRE  = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	tableRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$`)
)

func (p *parser) validate(role string) {
	c := &p.cfg
	if c.Region == "" {
		p.problem("region", "required (the name of this node's region, e.g. west)")
	} else if !nameRE.MatchString(c.Region) {
		p.problem("region", "%q: use lower-case letters, digits and _ (it names the slot)", c.Region)
	}
	if c.Node == "" {
		p.problem("node", "required (the hostname could not be read)")
	}
	if len(c.Memcache.Servers) == 0 {
		p.problem("memcache.servers", "required: at least one host:port")
	}
	for _, s := range c.Memcache.Servers {
		p.hostPort("memcache.servers", s)
	}
	if c.Memcache.Hash != "ketama" && c.Memcache.Hash != "crc32" {
		p.problem("memcache.hash", "%q: must be ketama or crc32", c.Memcache.Hash)
	}
	if c.Memcache.Invalidate != "stale" && c.Memcache.Invalidate != "delete" {
		p.problem("memcache.invalidate", "%q: must be stale (md I) or delete", c.Memcache.Invalidate)
	}
	if c.Memcache.Invalidate == "stale" && c.Memcache.StaleTTL < time.Second {
		p.problem("memcache.stale_ttl", "%s: must be at least 1s", c.Memcache.StaleTTL)
	}
	if c.Memcache.BatchSize < 1 {
		p.problem("memcache.batch_size", "must be at least 1")
	}
	p.hostPort("proxy.listen", c.Proxy.Listen)
	p.hostPort("cluster.bind", c.Cluster.Bind)
	for _, j := range c.Cluster.Join {
		p.hostPort("cluster.join", j)
	}
	if c.HTTP.Listen != "" {
		p.hostPort("http.listen", c.HTTP.Listen)
	}
	if c.Cluster.KeyFile != "" {
		if _, err := os.Stat(c.Cluster.KeyFile); err != nil {
			p.problem("cluster.key_file", "%v", err)
		}
	}
	if role == "proxy" {
		return
	}
	if c.Postgres.Source == "" {
		if role == "sidecar" {
			p.problem("postgres.source", "required for a sidecar: the primary's DSN (postgres://user@host:5432/db, or env:VAR)")
		}
		return
	}
	if c.Postgres.Slot == "" {
		c.Postgres.Slot = "cachesync_" + c.Region
	}
	if !nameRE.MatchString(c.Postgres.Slot) || len(c.Postgres.Slot) > 63 {
		p.problem("postgres.slot", "%q: a slot name is lower-case letters, digits and _ (at most 63)", c.Postgres.Slot)
	}
	if !nameRE.MatchString(c.Postgres.Publication) {
		p.problem("postgres.publication", "%q: use lower-case letters, digits and _", c.Postgres.Publication)
	}
	for _, key := range []struct {
		name string
		dsn  *string
	}{{"postgres.source", &c.Postgres.Source}, {"postgres.replica", &c.Postgres.Replica}} {
		if err := resolveDSN(key.dsn); err != nil {
			p.problem(key.name, "%v", err)
		}
	}
	if len(c.Tables) == 0 {
		p.problem("tables", "required for a sidecar: at least one table with its key templates")
	}
	for name, t := range c.Tables {
		key := "tables." + name
		if !tableRE.MatchString(name) {
			p.problem(key, "name the table as schema.table (e.g. public.users)")
		}
		if len(t.Keys) == 0 {
			p.problem(key+".keys", "required: at least one key template such as \"user:{id}\"")
		}
		for _, k := range t.Keys {
			if _, err := keys.Columns(k); err != nil {
				p.problem(key+".keys", "%q: %v", k, err)
			}
		}
		switch t.Truncate {
		case "":
			t.Truncate = "log"
			c.Tables[name] = t
		case "log", "flush":
		default:
			p.problem(key+".truncate", "%q: must be log or flush", t.Truncate)
		}
	}
}

func (p *parser) hostPort(key, s string) {
	if _, port, err := net.SplitHostPort(s); err != nil {
		p.problem(key, "%q: expected host:port", s)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.problem(key, "%q: bad port", s)
	}
}

// resolveDSN replaces "env:VAR" with the variable's value, so a password
// need not sit in the file.
func resolveDSN(dsn *string) error {
	v, ok := strings.CutPrefix(*dsn, "env:")
	if !ok {
		return nil
	}
	val, set := os.LookupEnv(v)
	if !set || val == "" {
		return fmt.Errorf("environment variable %s is not set", v)
	}
	*dsn = val
	return nil
}
