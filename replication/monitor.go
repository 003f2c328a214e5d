package replication

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// MonitorConfig configures a Monitor.
type MonitorConfig struct {
	// DSN is a normal DSN of the primary.
	DSN  string
	Slot string
	// Interval between polls.
	Interval time.Duration
	// WarnBytes is the retained WAL above which the slot is reported as a
	// danger to the primary's disk.
	WarnBytes  int64
	Logger     *zap.Logger
	Registerer prometheus.Registerer
	// OnServerStopping, when set, is called after a poll finds the primary
	// shutting down (see Stream.Disconnect for why the sidecar cares).
	OnServerStopping func()
}

// DefaultMonitorConfig returns the documented defaults.
func DefaultMonitorConfig() MonitorConfig {
	return MonitorConfig{Interval: 5 * time.Second, WarnBytes: 1 << 30}
}

// SlotHealth is the slot as seen from the primary.
type SlotHealth struct {
	Exists    bool
	Active    bool
	WALStatus string
	// ConfirmedLSN is confirmed_flush_lsn; RestartLSN is the oldest WAL the
	// slot holds; PrimaryLSN is pg_current_wal_insert_lsn().
	ConfirmedLSN, RestartLSN, PrimaryLSN LSN
	// RetainedBytes is the WAL kept for the slot (primary - restart).
	RetainedBytes int64
	// LagBytes is how far the consumer is behind (primary - confirmed).
	LagBytes int64
	// Warn is true when the slot retains more than WarnBytes, or
	// PostgreSQL says its WAL is at risk ('unreserved') or gone ('lost').
	Warn bool
	// Err is the last poll's error ("" when it succeeded).
	Err       string
	CheckedAt time.Time
}

// Monitor polls pg_replication_slots for one slot.
type Monitor struct {
	cfg  MonitorConfig
	db   *SQLConn
	log  *zap.Logger
	mets *monitorMetrics

	mu     sync.Mutex
	health SlotHealth
}

type monitorMetrics struct{ retained, lag, active, exists prometheus.Gauge }

// NewMonitor prepares a Monitor; it connects to nothing until Run.
func NewMonitor(cfg MonitorConfig) *Monitor {
	d := DefaultMonitorConfig()
	if cfg.Interval <= 0 {
		cfg.Interval = d.Interval
	}
	if cfg.WarnBytes <= 0 {
		cfg.WarnBytes = d.WarnBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	log := cfg.Logger.With(zap.String("slot", cfg.Slot))
	labels := prometheus.Labels{"slot": cfg.Slot}
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels})
	}
	m := &monitorMetrics{
		retained: g("cachesync_slot_retained_wal_bytes", "WAL the primary keeps for the slot."),
		lag:      g("cachesync_slot_lag_bytes", "Distance from the primary's insert position to the slot's confirmed flush."),
		active:   g("cachesync_slot_active", "1 while a consumer streams from the slot."),
		exists:   g("cachesync_slot_exists", "1 while the slot exists."),
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{m.retained, m.lag, m.active, m.exists} {
			if err := cfg.Registerer.Register(c); err != nil {
				// A second monitor of the same slot: its numbers are the same.
				log.Debug("slot metric not registered", zap.Error(err))
			}
		}
	}
	return &Monitor{cfg: cfg, db: NewSQLConn(cfg.DSN, cfg.Logger), log: log, mets: m}
}

// Run polls until ctx is done; it returns nil then.
func (m *Monitor) Run(ctx context.Context) error {
	defer m.db.Close()
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		m.poll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Status returns the last poll's result.
func (m *Monitor) Status() SlotHealth {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.health
}

// Close releases the connection; safe to call more than once.
func (m *Monitor) Close() error { return m.db.Close() }

const slotHealthSQL = `SELECT pg_current_wal_insert_lsn()::text,
	coalesce(s.active, false), coalesce(s.wal_status, ''),
	coalesce(s.confirmed_flush_lsn::text, ''), coalesce(s.restart_lsn::text, ''),
	s.slot_name IS NOT NULL
FROM (SELECT 1) one LEFT JOIN pg_replication_slots s ON s.slot_name = $1`

func (m *Monitor) poll(ctx context.Context) {
	h, err := m.check(ctx)
	h.CheckedAt = time.Now()
	var errText string
	if err != nil {
		errText = ScrubSecrets(err.Error())
		if serverStopping(err) && m.cfg.OnServerStopping != nil {
			m.cfg.OnServerStopping() // outside the lock: it may call Status
		}
	}
	m.mu.Lock()
	if err != nil {
		// A failed poll keeps the last result (CheckedAt included) and
		// only records the error.
		h = m.health
		h.Err = errText
	}
	warnChanged := h.Warn != m.health.Warn
	m.health = h
	m.mu.Unlock()
	if err != nil || ctx.Err() != nil {
		return
	}
	m.mets.retained.Set(float64(h.RetainedBytes))
	m.mets.lag.Set(float64(h.LagBytes))
	m.mets.active.Set(b2f(h.Active))
	m.mets.exists.Set(b2f(h.Exists))
	if warnChanged && h.Warn {
		m.log.Warn("replication slot retains too much WAL: its consumer is not keeping up and will fill the primary's disk",
			zap.Int64("retained_bytes", h.RetainedBytes), zap.Int64("warn_bytes", m.cfg.WarnBytes), zap.String("wal_status", h.WALStatus), zap.Bool("active", h.Active))
	} else if warnChanged {
		m.log.Info("replication slot retention back to normal", zap.Int64("retained_bytes", h.RetainedBytes))
	}
}

// check queries the slot once. On success poll records the result (what
// Status returns next); on error poll keeps the previous one.
func (m *Monitor) check(ctx context.Context) (SlotHealth, error) {
	var h SlotHealth
	var primary, confirmed, restart string
	err := m.db.QueryRow(ctx, slotHealthSQL, m.cfg.Slot).Scan(&primary, &h.Active, &h.WALStatus, &confirmed, &restart, &h.Exists)
	if err != nil {
		return h, fmt.Errorf("query slot %s: %w", m.cfg.Slot, err)
	}
	parse := func(s string) LSN {
		if s == "" {
			return 0
		}
		l, _ := pglogrepl.ParseLSN(s) // PostgreSQL's own text form
		return l
	}
	h.PrimaryLSN, h.ConfirmedLSN, h.RestartLSN = parse(primary), parse(confirmed), parse(restart)
	if h.RestartLSN > 0 {
		h.RetainedBytes = int64(h.PrimaryLSN) - int64(h.RestartLSN)
	}
	if h.ConfirmedLSN > 0 {
		h.LagBytes = max(0, int64(h.PrimaryLSN)-int64(h.ConfirmedLSN))
	}
	h.Warn = h.Exists && (h.RetainedBytes > m.cfg.WarnBytes || h.WALStatus == "unreserved" || h.WALStatus == "lost")
	return h, nil
}
