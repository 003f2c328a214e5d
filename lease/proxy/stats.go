package proxy

import (
	"sync/atomic"

	"github.com/cachesync/cachesync/lease/backend"
	"github.com/prometheus/client_golang/prometheus"
)

// Stats are the proxy's counters since start.
type Stats struct {
	Connections       int64 // open client connections
	TotalConnections  uint64
	CmdGet            uint64 // keys asked by get-family commands
	CmdSet            uint64
	CmdLeaseGet       uint64
	CmdLeaseSet       uint64
	CmdMeta           uint64
	Hits              uint64
	Misses            uint64
	LeasesGranted     uint64
	HotMisses         uint64
	StaleServed       uint64
	LeaseSetsRejected uint64
	LeasesReleased    uint64
	BackendErrors     uint64
	BinaryRefused     uint64 // connections closed for speaking the binary protocol
	GutterKeys        uint64 // keys routed to the gutter
	// ClassicLeases are leases classic gets took (transparent leases);
	// ClassicSetsRejected the sets and adds refused because the lease no
	// longer held; ClassicLeasesEvicted the leases forgotten for room.
	ClassicLeases        uint64
	ClassicSetsRejected  uint64
	ClassicLeasesEvicted uint64
}

// ServerState is one memcached server and whether it is up.
type ServerState = backend.ServerState

type counters struct {
	conns                                                 atomic.Int64
	totalConns, cmdGet, cmdSet, cmdLeaseGet, cmdLeaseSet  atomic.Uint64
	cmdMeta, hits, misses, leases, hotMisses, staleServed atomic.Uint64
	leaseSetsRejected, backendErrors, leasesReleased      atomic.Uint64
	binaryRefused                                         atomic.Uint64
	gutterKeys                                            atomic.Uint64
	classicLeases, classicSetsRejected, bookEvicted       atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Connections:       c.conns.Load(),
		TotalConnections:  c.totalConns.Load(),
		CmdGet:            c.cmdGet.Load(),
		CmdSet:            c.cmdSet.Load(),
		CmdLeaseGet:       c.cmdLeaseGet.Load(),
		CmdLeaseSet:       c.cmdLeaseSet.Load(),
		CmdMeta:           c.cmdMeta.Load(),
		Hits:              c.hits.Load(),
		Misses:            c.misses.Load(),
		LeasesGranted:     c.leases.Load(),
		HotMisses:         c.hotMisses.Load(),
		StaleServed:       c.staleServed.Load(),
		LeaseSetsRejected: c.leaseSetsRejected.Load(),
		LeasesReleased:    c.leasesReleased.Load(),
		BackendErrors:     c.backendErrors.Load(),
		BinaryRefused:     c.binaryRefused.Load(),
		GutterKeys:        c.gutterKeys.Load(),

		ClassicLeases:        c.classicLeases.Load(),
		ClassicSetsRejected:  c.classicSetsRejected.Load(),
		ClassicLeasesEvicted: c.bookEvicted.Load(),
	}
}

// registerMetrics exposes the counters as cachesync_proxy_* metrics read at
// scrape time, so the hot path only touches atomics.
func registerMetrics(reg prometheus.Registerer, c *counters) error {
	if reg == nil {
		return nil
	}
	counter := func(name, help string, v *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v.Load()) })
	}
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cachesync_proxy_connections", Help: "Open client connections."},
			func() float64 { return float64(c.conns.Load()) }),
		counter("cachesync_proxy_connections_total", "Client connections accepted.", &c.totalConns),
		counter("cachesync_proxy_hits_total", "Keys found fresh.", &c.hits),
		counter("cachesync_proxy_misses_total", "Keys missing, stale or placeholders.", &c.misses),
		counter("cachesync_proxy_leases_granted_total", "Lease tokens handed out.", &c.leases),
		counter("cachesync_proxy_hot_misses_total", "lease-get answered with token 1.", &c.hotMisses),
		counter("cachesync_proxy_stale_served_total", "Stale values served to lease-get.", &c.staleServed),
		counter("cachesync_proxy_lease_sets_rejected_total", "lease-set voided by an invalidation.", &c.leaseSetsRejected),
		counter("cachesync_proxy_leases_released_total", "Leases given back by fillers that could not fill (lease-release).", &c.leasesReleased),
		counter("cachesync_proxy_classic_leases_total", "Leases classic gets took (transparent leases).", &c.classicLeases),
		counter("cachesync_proxy_classic_sets_rejected_total", "Classic sets and adds refused (NOT_STORED) because their get's lease no longer held.", &c.classicSetsRejected),
		counter("cachesync_proxy_classic_leases_evicted_total", "Remembered classic leases forgotten for room (proxy.classic_lease_limit) before lease_ttl.", &c.bookEvicted),
		counter("cachesync_proxy_binary_refused_total", "Client connections closed for speaking the binary protocol.", &c.binaryRefused),
		counter("cachesync_proxy_backend_errors_total", "Requests answered SERVER_ERROR because of memcached.", &c.backendErrors),
		counter("cachesync_proxy_gutter_keys_total", "Keys routed to the gutter because their server was out of rotation.", &c.gutterKeys),
	}
	for _, col := range cs {
		if err := reg.Register(col); err != nil {
			return err
		}
	}
	return nil
}
