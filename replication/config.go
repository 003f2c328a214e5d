package replication

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Config configures a Stream.
type Config struct {
	// DSN is a normal postgres:// (or key=value) DSN of the primary; the
	// replication=database parameter is added by the Stream.
	DSN string
	// Slot is the logical replication slot to consume (created when missing).
	Slot string
	// Publication is created for Tables when missing; missing tables are added.
	Publication string
	// Tables are the configured tables.
	Tables []Table
	// StatusInterval is how often standby status updates are sent; it must be
	// well below the server's wal_sender_timeout.
	StatusInterval time.Duration
	// ReconnectMin and ReconnectMax bound the jittered exponential backoff
	// between connection attempts.
	ReconnectMin, ReconnectMax time.Duration
	// HoldMin and HoldMax bound the backoff between attempts while a
	// change is held (see HoldError): each attempt replays the held change.
	HoldMin, HoldMax time.Duration
	// HoldAdvice is the operator's second way past a held change (the
	// first is the handler's fix), shown in the hold's log line and status.
	HoldAdvice string
	// StandbyRetry is how often a standby (slot held by another consumer)
	// tries to take over.
	StandbyRetry time.Duration
	// Messages requests logical decoding messages (heartbeats need them).
	Messages bool
	// Logger receives state changes; nil means no logging.
	Logger *zap.Logger
	// Registerer receives the stream's metrics; nil means none.
	Registerer prometheus.Registerer
	// OnNewSlot is called before consuming a slot that had to be created.
	// The sidecar flushes its cache there. An error drops the new slot and
	// the stream retries.
	OnNewSlot func(ctx context.Context, reason string) error
}

// DefaultConfig returns a Config with the documented defaults and no DSN,
// slot or publication.
func DefaultConfig() Config {
	return Config{
		StatusInterval: time.Second,
		ReconnectMin:   100 * time.Millisecond,
		ReconnectMax:   5 * time.Second,
		StandbyRetry:   time.Second,
		HoldMin:        time.Second,
		HoldMax:        30 * time.Second,
		Messages:       true,
	}
}

func (c *Config) fillDefaults() {
	d := DefaultConfig()
	if c.StatusInterval <= 0 {
		c.StatusInterval = d.StatusInterval
	}
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = d.ReconnectMin
	}
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = max(d.ReconnectMax, c.ReconnectMin)
	}
	if c.HoldMin <= 0 {
		c.HoldMin = d.HoldMin
	}
	if c.HoldMax < c.HoldMin {
		c.HoldMax = max(d.HoldMax, c.HoldMin)
	}
	if c.StandbyRetry <= 0 {
		c.StandbyRetry = d.StandbyRetry
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
}

func (c *Config) validate() error {
	if c.DSN == "" {
		return errors.New("replication: DSN is required")
	}
	if c.Slot == "" {
		return errors.New("replication: slot name is required")
	}
	if len(c.Slot) > 63 || strings.Trim(c.Slot, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		return fmt.Errorf("replication: slot name %q: use at most 63 lower case letters, digits and underscores", c.Slot)
	}
	if c.Publication == "" {
		return errors.New("replication: publication name is required")
	}
	for _, t := range c.Tables {
		if t.Schema == "" || t.Name == "" {
			return fmt.Errorf("replication: table %q: want schema and name", t.Schema+"."+t.Name)
		}
	}
	return nil
}
