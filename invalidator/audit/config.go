package audit

import (
	"time"

	"go.uber.org/zap"
)

// Config says what to check and where.
type Config struct {
	// DSN is the database readers fill from: the region's replica, or the
	// primary in the primary's region.
	DSN string
	// Servers and Hash are the region's memcached pool, as in the sidecar's
	// memcache.servers and memcache.hash (ketama or crc32).
	Servers []string
	Hash    string
	// Tables maps "schema.table" (or "table", meaning public) to its key
	// templates.
	Tables map[string][]string
	// Expected returns what the app caches for a row of table (columns in
	// PostgreSQL's text form; NULL columns are absent). Required.
	Expected func(table string, row map[string]string) []byte
	// BatchSize is how many keys are fetched from memcached per round trip.
	BatchSize int
	// Timeout bounds each memcached round trip.
	Timeout time.Duration
	// MaxExamples bounds Report.Examples.
	MaxExamples int
	// Logger nil means zap.NewNop().
	Logger *zap.Logger
}

// DefaultConfig returns a Config with the tuning fields set; the caller
// fills DSN, Servers, Tables and Expected.
func DefaultConfig() Config {
	return Config{
		Hash:        "ketama",
		BatchSize:   256,
		Timeout:     5 * time.Second,
		MaxExamples: 10,
	}
}
