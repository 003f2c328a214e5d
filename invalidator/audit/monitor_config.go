package audit

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// MonitorTable is what the monitor knows of a configured table.
type MonitorTable struct {
	// Keys are the table's key templates, as the invalidator renders them.
	Keys []string
	// Value renders what the app caches for a row (RenderValue); empty
	// means the table's keys are checked for presence only.
	Value string
}

// MonitorConfig configures a Monitor: one per source (primary) of a
// sidecar.
type MonitorConfig struct {
	// Region and Source label the metrics.
	Region, Source string
	// DSN is the database the region's readers fill from: its replica, or
	// the primary in the primary's region.
	DSN string
	// Servers and Hash are the region's memcached pool, routed as the
	// invalidator routes it.
	Servers []string
	Hash    string
	// Tables maps a configured table name ("schema.table" or "table") to
	// its templates.
	Tables map[string]MonitorTable
	// Sample is the fraction of invalidated keys that are checked (0..1).
	Sample float64
	// After is how long after its invalidation was delivered a key is read
	// again: long enough for readers to have refilled it.
	After time.Duration
	// ConfirmAfter is how long a difference waits before it is read again
	// (database, then cache) and counted: a row that changed in the
	// meantime, or an invalidation still on its way, is not reported.
	ConfirmAfter time.Duration
	// MaxPerSecond caps the monitor's reads: each check and each
	// confirmation costs one (a cache read and at most one query).
	MaxPerSecond int
	// QueueSize bounds the samples waiting (for delivery, for After, for a
	// confirmation); beyond it samples are dropped and counted.
	QueueSize int
	// Recent is how many inconsistent keys Stats keeps, newest first.
	Recent int
	// Timeout bounds each memcached exchange and each query.
	Timeout time.Duration
	// Logger nil means zap.NewNop(); Registerer nil means no metrics.
	Logger     *zap.Logger
	Registerer prometheus.Registerer
}

// DefaultMonitorConfig returns the tunables; the caller fills Region,
// Source, DSN, Servers and Tables.
func DefaultMonitorConfig() MonitorConfig {
	return MonitorConfig{
		Hash:         "ketama",
		Sample:       0.001,
		After:        10 * time.Second,
		ConfirmAfter: time.Second,
		MaxPerSecond: 100,
		QueueSize:    4096,
		Recent:       10,
		Timeout:      2 * time.Second,
	}
}

func (c *MonitorConfig) validate() error {
	switch {
	case c.DSN == "":
		return errors.New("monitor: DSN is required")
	case len(c.Servers) == 0:
		return errors.New("monitor: no memcached servers")
	case c.Sample < 0 || c.Sample > 1:
		return fmt.Errorf("monitor: sample %g: must be between 0 and 1", c.Sample)
	case c.After < 0 || c.ConfirmAfter < 0:
		return errors.New("monitor: after and confirm_after must not be negative")
	case c.MaxPerSecond < 1 || c.QueueSize < 1 || c.Timeout <= 0 || c.Recent < 0:
		return errors.New("monitor: max_per_second, queue size and timeout must be positive (start from DefaultMonitorConfig)")
	}
	for name, t := range c.Tables {
		if len(t.Keys) == 0 {
			return fmt.Errorf("monitor: table %s: no key templates", name)
		}
		if t.Value != "" {
			if _, err := ValueColumns(t.Value); err != nil {
				return fmt.Errorf("monitor: table %s: %w", name, err)
			}
		}
	}
	return nil
}
