package region

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Config describes one node of the fleet.
type Config struct {
	// Region is required: every status and summary is grouped by it.
	Region string
	// Node is the member name, unique in the fleet. Empty: the hostname.
	Node string
	// Role is "sidecar" or "proxy".
	Role string

	// Bind is the gossip address (UDP and TCP on the same port). Port 0
	// picks a free port; GossipAddr reports it after Listen.
	Bind string
	// Join lists gossip addresses of other members. Run keeps retrying
	// them while this node sees no other alive member, which is also how
	// two halves of a healed partition find each other again.
	Join []string
	// KeyFile holds a base64 16, 24 or 32-byte gossip key. Empty: no
	// encryption.
	KeyFile string

	// HTTPListen is the HTTP address. Port 0 picks a free port. Empty: no
	// HTTP server.
	HTTPListen string
	// PProf serves /debug/pprof/ on HTTPListen. Off by default: profiles
	// and goroutine dumps are for whoever may debug the node, not for
	// whoever can reach the dashboard.
	PProf bool

	// Status returns this node's current status. It is called every
	// StatusInterval and by /api/status, so it must be cheap and safe to
	// call concurrently. Nil: a status with only region, node and role.
	Status func() NodeStatus
	// Ready is /readyz: nil error means ready. Nil func: always ready.
	Ready func() error
	// StatusInterval is how often the status is gossiped.
	StatusInterval time.Duration
	// RetainedWALWarnBytes is the retained WAL above which a region is
	// flagged, unless the slot's own status carries a threshold.
	RetainedWALWarnBytes int64
	// LagWarn and LagCrit colour a region amber and red by its p99
	// end-to-end invalidation lag or its replica's replay lag.
	LagWarn time.Duration
	LagCrit time.Duration
	// ForgetAfter drops dead and left members from the fleet view after
	// this long, so the view does not grow with every restart.
	ForgetAfter time.Duration

	// HistoryInterval and HistoryRetention define the lag history the
	// dashboard charts.
	HistoryInterval  time.Duration
	HistoryRetention time.Duration

	// ProbeInterval, GossipInterval and PushPullInterval override
	// memberlist's LAN defaults when non-zero (tests make them fast).
	ProbeInterval    time.Duration
	GossipInterval   time.Duration
	PushPullInterval time.Duration

	// Gatherer is served at /metrics. Nil: prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Registerer receives this package's metrics. Nil: none.
	Registerer prometheus.Registerer
	// Logger nil: zap.NewNop().
	Logger *zap.Logger
}

// DefaultConfig returns a sidecar's defaults; Region must still be set.
func DefaultConfig() Config {
	return Config{
		Role:                 "sidecar",
		Bind:                 "127.0.0.1:7946",
		HTTPListen:           "127.0.0.1:9100",
		StatusInterval:       time.Second,
		RetainedWALWarnBytes: 1 << 30,
		LagWarn:              time.Second,
		LagCrit:              10 * time.Second,
		ForgetAfter:          time.Hour,
		HistoryInterval:      2 * time.Second,
		HistoryRetention:     15 * time.Minute,
	}
}
