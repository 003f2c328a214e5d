package invalidator

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	invalidations prometheus.CounterFunc
	queueKeys     prometheus.GaugeFunc
	keyErrors     prometheus.CounterFunc
	truncates     prometheus.CounterFunc
	pubFlushes    prometheus.CounterFunc
	schema        prometheus.GaugeFunc
	typeChanges   prometheus.CounterFunc
	up            *prometheus.GaugeVec
	dropped       *prometheus.CounterVec
	delivery      prometheus.Histogram
}

// newMetrics creates the collectors and registers them when reg is set; the
// collectors always exist so the code that updates them needs no nil checks.
// The counters read inv's atomics, which Stats reports as well.
func newMetrics(reg prometheus.Registerer, inv *Invalidator) (*metrics, error) {
	m := &metrics{
		invalidations: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "cachesync_invalidations_total",
			Help: "Keys invalidated and acknowledged by memcached (after coalescing).",
		}, func() float64 { return float64(inv.invalidations.Load()) }),
		queueKeys: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cachesync_invalidation_queue_keys",
			Help: "Keys waiting for delivery (queued, batched, gated, or waiting for their server).",
		}, func() float64 { return float64(inv.queueDepth()) }),
		keyErrors: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "cachesync_key_errors_total",
			Help: "Keys of changed rows that could not be rendered (too long, column not carried).",
		}, func() float64 { return float64(inv.keyErrors.Load()) }),
		truncates: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "cachesync_truncates_total",
			Help: "TRUNCATEs of configured tables.",
		}, func() float64 { return float64(inv.truncates.Load()) }),
		pubFlushes: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "cachesync_publication_flushes_total",
			Help: "Region flushes because configured tables had left the publication (dropped and re-created) or it published partitions under their own names.",
		}, func() float64 { return float64(inv.publicationFlushes.Load()) }),
		schema: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cachesync_schema_problems",
			Help: "Configured tables the catalog watch last found unable to be invalidated as configured (missing, or a replica identity that does not carry a template's columns, on the table or a partition).",
		}, func() float64 { return float64(len(inv.SchemaProblems())) }),
		typeChanges: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "cachesync_key_column_type_changes_total",
			Help: "Type changes of key template columns seen in the stream (the key text may change with the type).",
		}, func() float64 { return float64(inv.typeChanges.Load()) }),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cachesync_memcached_up",
			Help: "1 when the last exchange with the memcached server succeeded.",
		}, []string{"server"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cachesync_memcached_dropped_keys_total",
			Help: "Keys dropped because the server held more than server_backlog; a flush_all replaced them.",
		}, []string{"server"}),
		delivery: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cachesync_delivery_seconds",
			Help:    "Time from a batch passing its gate to one server acknowledging its keys, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14),
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.invalidations, m.queueKeys, m.keyErrors, m.truncates, m.pubFlushes, m.schema, m.typeChanges, m.up, m.dropped, m.delivery} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
