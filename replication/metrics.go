package replication

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type streamMetrics struct {
	received, acked, confirmed prometheus.Gauge
	streaming, standby         prometheus.Gauge
	changes, transactions      prometheus.Counter
	reconnects                 prometheus.Counter
}

func newStreamMetrics(reg prometheus.Registerer, slot string) (*streamMetrics, error) {
	labels := prometheus.Labels{"slot": slot}
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels})
	}
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels})
	}
	m := &streamMetrics{
		received:     g("cachesync_replication_received_lsn", "Highest WAL position received from the primary (bytes)."),
		acked:        g("cachesync_replication_acked_lsn", "Highest transaction end acknowledged by the handler (bytes)."),
		confirmed:    g("cachesync_replication_confirmed_lsn", "Flush position last sent to the primary (bytes)."),
		streaming:    g("cachesync_replication_streaming", "1 while the slot is being consumed by this process."),
		standby:      g("cachesync_replication_standby", "1 while another consumer holds the slot."),
		changes:      c("cachesync_replication_changes_total", "Row changes handed to the handler."),
		transactions: c("cachesync_replication_transactions_total", "Transactions handed to the handler."),
		reconnects:   c("cachesync_replication_reconnects_total", "Replication connections lost."),
	}
	if reg == nil {
		return m, nil
	}
	for _, col := range []prometheus.Collector{m.received, m.acked, m.confirmed, m.streaming, m.standby, m.changes, m.transactions, m.reconnects} {
		if err := reg.Register(col); err != nil {
			return nil, fmt.Errorf("register replication metrics: %w", err)
		}
	}
	return m, nil
}
