package region

import "time"

// NodeStatus is what one node gossips about itself and serves at /api/status.
// Fields are added, never renamed: other nodes of another version read it.
type NodeStatus struct {
	Region    string    `json:"region"`
	Node      string    `json:"node"`
	Role      string    `json:"role"` // "sidecar" or "proxy"
	Version   string    `json:"version,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	// Active is true for the sidecar that holds its region's slot.
	Active bool `json:"active"`
	// Healthy is false when the node cannot do its job; Problems says why.
	Healthy  bool     `json:"healthy"`
	Problems []string `json:"problems,omitempty"`

	// Sources is a sidecar's primaries, one per postgres source. With
	// several, Slot is the one retaining the most WAL, Replica the one
	// furthest behind, and the rates and queue are their sums.
	Sources []SourceStatus `json:"sources,omitempty"`

	Slot *SlotStatus `json:"slot,omitempty"`
	// Held is a change a sidecar's stream is held at (the first source's
	// that holds one; nil when none).
	Held    *HeldStatus    `json:"held,omitempty"`
	Replica *ReplicaStatus `json:"replica,omitempty"`
	// E2ELag is the heartbeat-measured time from emission on the primary to
	// invalidated in this region.
	E2ELag              *LagStats      `json:"e2e_lag,omitempty"`
	InvalidationsPerSec float64        `json:"invalidations_per_sec"`
	QueueDepth          int            `json:"queue_depth"`
	Memcached           []ServerStatus `json:"memcached,omitempty"`
	Proxy               *ProxyStatus   `json:"proxy,omitempty"`
	// Consistency is a sidecar's consistency monitor; nil on a proxy.
	Consistency *ConsistencyStatus `json:"consistency,omitempty"`
}

// SourceStatus is one primary a sidecar tails: its slot, the region's
// replica of it, and its own lag, rates and problems.
type SourceStatus struct {
	// Name is the source's name in the config ("" for a single primary).
	Name    string `json:"name"`
	Active  bool   `json:"active"`
	Standby bool   `json:"standby,omitempty"`
	Healthy bool   `json:"healthy"`
	// Problems are the source's own, unprefixed.
	Problems            []string       `json:"problems,omitempty"`
	Held                *HeldStatus    `json:"held,omitempty"`
	Slot                *SlotStatus    `json:"slot,omitempty"`
	Replica             *ReplicaStatus `json:"replica,omitempty"`
	E2ELag              *LagStats      `json:"e2e_lag,omitempty"`
	InvalidationsPerSec float64        `json:"invalidations_per_sec"`
	QueueDepth          int            `json:"queue_depth"`
}

// SlotStatus is the region's replication slot as seen from the primary and
// from the consumer.
type SlotStatus struct {
	Name             string `json:"name"`
	ReceivedLSN      string `json:"received_lsn"`
	ConfirmedLSN     string `json:"confirmed_lsn"`
	PrimaryLSN       string `json:"primary_lsn"`
	RetainedWALBytes int64  `json:"retained_wal_bytes"`
	WarnBytes        int64  `json:"warn_bytes"`
	WALStatus        string `json:"wal_status"`
	Streaming        bool   `json:"streaming"`
}

// HeldStatus is a change the sidecar holds because its key templates cannot
// name it: what, where, since when, and the operator's ways out.
type HeldStatus struct {
	Table    string    `json:"table"`
	Columns  []string  `json:"columns,omitempty"`
	Reason   string    `json:"reason"`
	Position string    `json:"position"`
	Since    time.Time `json:"since"`
	WaysOut  []string  `json:"ways_out"`
}

// ReplicaStatus is the region's read replica.
type ReplicaStatus struct {
	Up         bool    `json:"up"`
	ReplayLSN  string  `json:"replay_lsn"`
	LagBytes   int64   `json:"lag_bytes"`
	LagSeconds float64 `json:"lag_seconds"`
}

// LagStats summarises recent lag samples, in seconds.
type LagStats struct {
	P50     float64 `json:"p50"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
	Samples int     `json:"samples"`
}

// ServerStatus is one memcached server's reachability from this node.
type ServerStatus struct {
	Addr string `json:"addr"`
	Up   bool   `json:"up"`
	// State is, from a sidecar, whether the server has every invalidation:
	// "up", "down", "catching_up" (back, its held invalidations being
	// delivered) or "owes_flush" (back, owed a flush_all). Proxies serve
	// from a server only while its region's sidecar says "up". Empty from
	// nodes that do not track it: Up alone says.
	State string `json:"state,omitempty"`
}

// ProxyStatus is a proxy's counters.
type ProxyStatus struct {
	Connections       int64   `json:"connections"`
	Hits              uint64  `json:"hits"`
	Misses            uint64  `json:"misses"`
	HitRate           float64 `json:"hit_rate"`
	LeasesGranted     uint64  `json:"leases_granted"`
	HotMisses         uint64  `json:"hot_misses"`
	StaleServed       uint64  `json:"stale_served"`
	LeaseSetsRejected uint64  `json:"lease_sets_rejected"`
	BackendErrors     uint64  `json:"backend_errors"`
}
