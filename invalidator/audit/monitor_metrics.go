package audit

import "github.com/prometheus/client_golang/prometheus"

// registerMetrics exports the counters Stats reads, labelled by region and
// source (constant) and kind, so a sidecar of several sources registers one
// set per source.
func (m *Monitor) registerMetrics(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	labels := prometheus.Labels{"region": m.cfg.Region, "source": m.cfg.Source}
	counter := func(name, help string, kind string, v func() uint64) prometheus.Collector {
		l := labels
		if kind != "" {
			l = prometheus.Labels{"region": m.cfg.Region, "source": m.cfg.Source, "kind": kind}
		}
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: l},
			func() float64 { return float64(v()) })
	}
	c := &m.counts
	var cs []prometheus.Collector
	for i, kind := range []string{KindValue, KindPresence} {
		cs = append(cs,
			counter("cachesync_consistency_checked_total",
				"Sampled invalidated keys re-read from memcached and compared with the database (kind value: by the table's value template; presence: the row's existence only).",
				kind, c.checked[i].Load),
			counter("cachesync_consistency_inconsistent_total",
				"Sampled keys whose cached value the database contradicted, confirmed by a second read.",
				kind, c.inconsistent[i].Load))
	}
	cs = append(cs,
		counter("cachesync_consistency_unconfirmed_total", "Differences gone when read again (counted as consistent checks).", "", c.unconfirmed.Load),
		counter("cachesync_consistency_skipped_total", "Samples that could not be judged (the key no longer belongs to its row, or the table has no primary key).", "", c.skipped.Load),
		counter("cachesync_consistency_dropped_total", "Samples dropped because the monitor's queue was full.", "", c.dropped.Load),
		counter("cachesync_consistency_errors_total", "Checks that could not read memcached or the database.", "", c.errors.Load))
	for _, col := range cs {
		if err := reg.Register(col); err != nil {
			return err
		}
	}
	return nil
}
