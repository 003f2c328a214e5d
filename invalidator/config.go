package invalidator

import (
	"context"
	"fmt"
	"time"

	"github.com/cachesync/cachesync/lease/keys"
	"github.com/cachesync/cachesync/lease/ring"
	"github.com/cachesync/cachesync/replication"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Truncate policies of a TableRule.
const (
	// TruncateLog logs a TRUNCATE loudly and counts it: a TRUNCATE cannot name
	// its rows' keys, so the operator must decide.
	TruncateLog = "log"
	// TruncateFlush runs flush_all on every server of the pool.
	TruncateFlush = "flush"
)

// Invalidation modes.
const (
	// ModeStale marks keys stale (md <key> I T<ttl>): readers that understand
	// staleness get one lease and serve the stale value meanwhile.
	ModeStale = "stale"
	// ModeDelete removes keys; required when apps use classic get directly.
	ModeDelete = "delete"
)

// TableRule says which keys a table's rows own.
type TableRule struct {
	// Keys are key templates such as "user:{id}" (see package keys).
	Keys []string
	// Truncate is TruncateLog (default) or TruncateFlush.
	Truncate string
}

// Acker learns which end LSN may be confirmed to PostgreSQL. Ack is called
// with increasing LSNs, one call at a time (from whichever delivery
// goroutine completes the oldest outstanding batch).
type Acker interface {
	Ack(end replication.LSN)
}

// Config configures an Invalidator.
type Config struct {
	// Tables maps a table name as SQL writes it (schema.table, quoted where
	// needed: public."my-table"; a bare table is in public; see
	// replication.ParseTable) to its rule. Tables not listed are ignored.
	Tables map[string]TableRule
	// Servers is the memcached pool (host:port).
	Servers []string
	// Gutter servers take a down server's keys (the proxy routes them there;
	// values live at most the proxy's gutter_ttl). Every key is invalidated
	// on its gutter server too, whatever the state of its owner.
	Gutter []string
	// Hash routes keys to servers: "ketama" or "crc32".
	Hash string
	// Mode is ModeStale or ModeDelete.
	Mode string
	// StaleTTL is how long a stale item may still be served (ModeStale).
	StaleTTL time.Duration
	// GutterTTL is the proxy's gutter_ttl: on a gutter server a stale copy
	// lives min(StaleTTL, GutterTTL), never longer than a gutter value may
	// (0: StaleTTL).
	GutterTTL time.Duration
	// BatchSize is the most distinct keys in one batch.
	BatchSize int
	// BatchDelay is the longest a key waits for its batch to fill.
	BatchDelay time.Duration
	// GateQuantum: with a Gate, a batch is sealed at the first commit that is
	// this much newer than the batch's first commit, so an early commit does
	// not wait for the replica to replay much later ones.
	GateQuantum time.Duration
	// MaxQueued bounds the keys queued for batching, and separately the keys
	// of sealed batches waiting for their gate; Change blocks beyond it.
	MaxQueued int
	// MaxBatches bounds the batches between sealing and acknowledgement
	// (gated, in delivery, or delivered and waiting for an older batch).
	MaxBatches int
	// InFlight is how many batches may be in delivery to one server at once
	// (one connection each).
	InFlight int
	// ServerBacklog bounds the keys waiting for one server. Past it the
	// server's waiting keys are dropped and it owes a flush_all, which it
	// gets before anything past those keys is acknowledged.
	ServerBacklog int
	// Gate, when set, holds each batch until it may be delivered.
	Gate Gate
	// Acker receives the end LSN of delivered transactions. May be nil.
	Acker Acker
	// OnHeartbeat is called once a heartbeat message (prefix
	// replication.HeartbeatPrefix) has gone through the gate and delivery, with the
	// emitting node, its send time and the time it was delivered.
	OnHeartbeat func(node string, sent, invalidatedAt time.Time)
	// Sampler, when set, is offered a sample of the rendered keys (see
	// Sampler). May be nil.
	Sampler Sampler
	// Logger; nil means no logging.
	Logger *zap.Logger
	// Registerer for metrics; nil means no metrics.
	Registerer prometheus.Registerer
	// DialTimeout bounds connecting to a memcached server.
	DialTimeout time.Duration
	// OpTimeout bounds each pipelined exchange with a server.
	OpTimeout time.Duration
	// RetryMin and RetryMax bound the backoff between failed deliveries.
	RetryMin, RetryMax time.Duration
}

// DefaultConfig returns a Config with every tunable set; callers fill in
// Tables, Servers, Gate and Acker.
func DefaultConfig() Config {
	return Config{
		Hash:          ring.KindKetama,
		Mode:          ModeStale,
		StaleTTL:      30 * time.Second,
		GutterTTL:     10 * time.Second,
		BatchSize:     512,
		BatchDelay:    2 * time.Millisecond,
		GateQuantum:   10 * time.Millisecond,
		MaxQueued:     65536,
		MaxBatches:    65536,
		InFlight:      4,
		ServerBacklog: 65536,
		DialTimeout:   time.Second,
		OpTimeout:     2 * time.Second,
		RetryMin:      10 * time.Millisecond,
		RetryMax:      2 * time.Second,
	}
}

// Pending describes a batch a Gate is asked about.
type Pending struct {
	// Commit is the commit record LSN (BEGIN's final_lsn) of the newest
	// transaction in the batch.
	Commit replication.LSN
	// End is that transaction's end LSN, or 0 when its COMMIT has not
	// arrived yet (the batch ends mid-transaction).
	End replication.LSN
	// Xids are the batch's transactions.
	Xids []uint32
}

// Gate decides when batches may be delivered. A gate answers for a position,
// not a batch: Passed gets every batch still waiting, oldest first, blocks
// until at least the oldest may be delivered (or ctx ends), and returns how
// many of them, from the oldest, may be delivered now. It is asked again
// only about the rest.
type Gate interface {
	Passed(ctx context.Context, ps []Pending) (int, error)
}

// compiledTable is a TableRule with its templates parsed.
type compiledTable struct {
	name      replication.Table
	templates []*keys.Template
	truncate  string
}

func (c *Config) validate() (map[replication.Table]*compiledTable, error) {
	if len(c.Servers) == 0 {
		return nil, fmt.Errorf("no memcached servers configured")
	}
	if c.Mode != ModeStale && c.Mode != ModeDelete {
		return nil, fmt.Errorf("invalidate mode %q: want %q or %q", c.Mode, ModeStale, ModeDelete)
	}
	if c.Mode == ModeStale && c.StaleTTL < time.Second {
		return nil, fmt.Errorf("stale_ttl %s: must be at least 1s", c.StaleTTL)
	}
	if c.BatchSize <= 0 || c.MaxQueued <= 0 || c.MaxBatches <= 0 || c.InFlight <= 0 || c.ServerBacklog <= 0 ||
		c.BatchDelay <= 0 || c.OpTimeout <= 0 || c.DialTimeout <= 0 || c.RetryMin <= 0 || c.RetryMax < c.RetryMin {
		return nil, fmt.Errorf("batch size, queue, delays, timeouts and retry bounds must be positive (start from DefaultConfig)")
	}
	tables := make(map[replication.Table]*compiledTable, len(c.Tables))
	for name, rule := range c.Tables {
		q, err := replication.ParseTable(name)
		if err != nil {
			return nil, err
		}
		ct := &compiledTable{name: q, truncate: rule.Truncate}
		if ct.truncate == "" {
			ct.truncate = TruncateLog
		}
		if ct.truncate != TruncateLog && ct.truncate != TruncateFlush {
			return nil, fmt.Errorf("table %s: truncate %q: want %q or %q", q, rule.Truncate, TruncateLog, TruncateFlush)
		}
		if len(rule.Keys) == 0 {
			return nil, fmt.Errorf("table %s: no key templates", q)
		}
		for _, k := range rule.Keys {
			t, err := keys.Parse(k)
			if err != nil {
				return nil, fmt.Errorf("table %s: %w", q, err)
			}
			ct.templates = append(ct.templates, t)
		}
		if _, dup := tables[q]; dup {
			return nil, fmt.Errorf("table %s configured twice", q)
		}
		tables[q] = ct
	}
	return tables, nil
}
