package config

// Config is one node's YAML file (DESIGN.md "The commands and the config").
// The same file can serve a sidecar and a proxy.
type Config struct {
	// Region names the slot (cachesync_<region>) and the dashboard's region.
	Region string `yaml:"region"`
	// Node is this node's name in the fleet (default: the hostname).
	Node string `yaml:"node"`
	// Postgres is the primaries this region's sidecar tails: one mapping in
	// the file for a single primary, or a list of named sources (shards).
	Postgres Sources          `yaml:"postgres,omitempty"`
	Memcache Memcache         `yaml:"memcache"`
	Tables   map[string]Table `yaml:"tables,omitempty"`
	Proxy    Proxy            `yaml:"proxy"`
	// Consistency is the sampled re-check of invalidated keys.
	Consistency Consistency `yaml:"consistency"`
	Cluster     Cluster     `yaml:"cluster"`
	HTTP        HTTP        `yaml:"http"`
}

// Source is one primary: its logical replication stream, the region's
// optional replica of it, and the slot this region consumes on it.
type Source struct {
	// Name tells the sources of one sidecar apart (metrics, status); it is
	// required in a list of several.
	Name string `yaml:"name,omitempty"`
	// Source is the primary's DSN, or env:VAR to read it from a variable.
	Source string `yaml:"source"`
	// Replica is this region's replica of the primary (DSN or env:VAR):
	// invalidations wait for its replay. Empty where readers read the primary.
	Replica     string `yaml:"replica,omitempty"`
	Slot        string `yaml:"slot"`
	Publication string `yaml:"publication"`
	// FlushOnNewSlot flushes the region's memcached before a new (or lost)
	// slot is consumed: what happened before it is unknown.
	FlushOnNewSlot       bool     `yaml:"flush_on_new_slot"`
	StatusInterval       Duration `yaml:"status_interval"`
	HeartbeatInterval    Duration `yaml:"heartbeat_interval"`
	RetainedWALWarnBytes ByteSize `yaml:"retained_wal_warn_bytes"`
}

// ReadDSN is the database the region's readers fill from: its replica of
// this source, or the primary itself in the primary's region.
func (s Source) ReadDSN() string {
	if s.Replica != "" {
		return s.Replica
	}
	return s.Source
}

// Memcache is the region's memcached pool.
type Memcache struct {
	Servers List `yaml:"servers"`
	// Hash is ketama or crc32.
	Hash string `yaml:"hash"`
	// Invalidate is stale (md I) or delete.
	Invalidate string   `yaml:"invalidate"`
	StaleTTL   Duration `yaml:"stale_ttl"`
	BatchSize  int      `yaml:"batch_size"`
	BatchDelay Duration `yaml:"batch_delay"`
	// Gutter takes a down server's keys; its values live at most GutterTTL.
	Gutter    List     `yaml:"gutter"`
	GutterTTL Duration `yaml:"gutter_ttl"`
}

// Table is one table's key templates.
type Table struct {
	Keys List `yaml:"keys"`
	// Truncate is log or flush.
	Truncate string `yaml:"truncate"`
	// Value is what the app caches for a row, as a template rendered
	// without encoding ("{id}|{name}"); the consistency checks read it.
	Value string `yaml:"value,omitempty"`
}

// Proxy is the lease-aware memcache proxy.
type Proxy struct {
	Listen      string   `yaml:"listen"`
	LeaseTTL    Duration `yaml:"lease_ttl"`
	HotMissWait Duration `yaml:"hot_miss_wait"`
	AllowFlush  bool     `yaml:"allow_flush"`
	MaxConns    int      `yaml:"max_conns"`
	IdleTimeout Duration `yaml:"idle_timeout"`
	MaxItemSize ByteSize `yaml:"max_item_size"`
	// Procs caps the Go scheduler threads (GOMAXPROCS) of `cachesync
	// proxy`; 0 means one per core. The default is 1, like mcrouter's
	// num-proxies and single-threaded twemproxy: the proxy shares its host
	// with the app, and a second thread costs more in cross-thread wakeups
	// than it gains until one core is saturated (README, "The proxy").
	Procs int `yaml:"procs"`
	// ClassicLeases gives classic get/set transparent leases.
	ClassicLeases bool `yaml:"classic_leases"`
	// ClassicStale gives the losers of a hot key the stale value (else they
	// wait, then miss).
	ClassicStale bool `yaml:"classic_stale"`
	// ClassicLeaseLimit bounds the leases remembered for classic clients
	// (least recent forgotten first; its key's next set is a plain set).
	ClassicLeaseLimit int `yaml:"classic_lease_limit"`
}

// Consistency is the re-read of a sample of invalidated keys.
type Consistency struct {
	// Sample is the fraction of invalidated keys re-checked, 0..1.
	Sample float64 `yaml:"sample"`
	// After is how long after the invalidation a key is re-checked.
	After Duration `yaml:"after"`
	// MaxPerSecond caps the checks (each one cache read and at most one
	// query on the database the region reads).
	MaxPerSecond int `yaml:"max_per_second"`
}

// Cluster is memberlist membership.
type Cluster struct {
	Bind    string `yaml:"bind"`
	Join    List   `yaml:"join"`
	KeyFile string `yaml:"key_file,omitempty"`
}

// HTTP is the dashboard, /metrics and health endpoints.
type HTTP struct {
	// Listen empty serves no HTTP.
	Listen string `yaml:"listen"`
	// PProf serves /debug/pprof/ only when true: profiles and goroutine
	// dumps are for whoever may debug the node, not for whoever reaches it.
	PProf bool `yaml:"pprof"`
}
