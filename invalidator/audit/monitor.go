package audit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cachesync/cachesync/invalidator"
	"github.com/cachesync/cachesync/replication"
)

// Monitor re-reads a sample of the keys a source's invalidator delivered,
// After their delivery, and counts the ones whose cached value the database
// contradicts (Meta's Polaris, "Cache made consistent", 2022). It is the
// invalidator's Sampler; the sidecar tells it what was delivered with
// Delivered, from its Acker.
type Monitor struct {
	cfg    MonitorConfig
	log    *zap.Logger
	tables map[string]*monTable
	cache  cacheReader
	db     rowReader

	in        chan invalidator.Sample
	poke      chan struct{}
	delivered atomic.Uint64
	closed    chan struct{}
	closeOnce sync.Once
	running   atomic.Bool

	counts counts
	mu     sync.Mutex
	recent []InconsistentKey // newest first

	cacheState, dbState depState
}

var _ invalidator.Sampler = (*Monitor)(nil)

// NewMonitor validates cfg. It starts nothing and dials nothing.
func NewMonitor(cfg MonitorConfig) (*Monitor, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("consistency")
	tables := make(map[string]*monTable, len(cfg.Tables))
	for name, t := range cfg.Tables {
		mt, err := newMonTable(invalidator.QualifiedTable(name), t)
		if err != nil {
			return nil, fmt.Errorf("monitor: %w", err)
		}
		tables[mt.name] = mt
	}
	cache, err := newRingReader(cfg.Hash, cfg.Servers, cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	m := &Monitor{
		cfg:        cfg,
		log:        log,
		tables:     tables,
		cache:      cache,
		db:         newPGRows(cfg.DSN, cfg.Timeout),
		in:         make(chan invalidator.Sample, cfg.QueueSize),
		poke:       make(chan struct{}, 1),
		closed:     make(chan struct{}),
		cacheState: depState{what: "memcached"},
		dbState:    depState{what: "the database"},
	}
	if err := m.registerMetrics(cfg.Registerer); err != nil {
		return nil, fmt.Errorf("monitor metrics: %w", err)
	}
	return m, nil
}

// Sampled implements invalidator.Sampler: true for a Sample fraction of
// the keys.
func (m *Monitor) Sampled() bool {
	return m.cfg.Sample > 0 && (m.cfg.Sample >= 1 || rand.Float64() < m.cfg.Sample)
}

// Offer implements invalidator.Sampler. It never blocks: a full queue drops
// the sample and counts it.
func (m *Monitor) Offer(s invalidator.Sample) {
	select {
	case m.in <- s:
	default:
		m.counts.dropped.Add(1)
	}
}

// Delivered tells the monitor that every key of the transactions ending at
// or before end has been delivered (what the invalidator's Acker is told).
// It never blocks.
func (m *Monitor) Delivered(end replication.LSN) {
	for {
		old := m.delivered.Load()
		if uint64(end) <= old || m.delivered.CompareAndSwap(old, uint64(end)) {
			break
		}
	}
	select {
	case m.poke <- struct{}{}:
	default:
	}
}

// Close stops Run. Safe to call more than once.
func (m *Monitor) Close() { m.closeOnce.Do(func() { close(m.closed) }) }

// entry is a sample on its way through the monitor.
type entry struct {
	s   invalidator.Sample
	due time.Time
	// want is what the first read found the database to say, for a
	// difference waiting to be confirmed.
	want       string
	confirming bool
	// seen is the database's position at the first read: the confirmation
	// waits until the invalidator has delivered it.
	seen replication.LSN
}

// Run checks samples until ctx ends or Close is called. It starts no
// goroutine that outlives it.
func (m *Monitor) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("monitor: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-m.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer wg.Wait()
	defer m.db.close()
	defer m.cache.close()

	lim := newLimiter(m.cfg.MaxPerSecond, time.Now())
	var pending, due, confirm fifo
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		for d := replication.LSN(m.delivered.Load()); pending.len() > 0 && pending.head().s.Commit < d; {
			e := pending.pop()
			e.due = now.Add(m.cfg.After)
			due.push(e)
		}
		wait := time.Hour
		for ctx.Err() == nil {
			q := &due
			if confirm.len() > 0 && (due.len() == 0 || confirm.head().due.Before(due.head().due)) {
				q = &confirm
			}
			if q.len() == 0 {
				break
			}
			if d := q.head().due.Sub(now); d > 0 {
				wait = d
				break
			}
			if q.head().seen > replication.LSN(m.delivered.Load()) {
				break // Delivered pokes the loop
			}
			ok, d := lim.take(now)
			if !ok {
				wait = d
				break
			}
			if e := m.step(ctx, q.pop()); e != nil {
				e.due = time.Now().Add(m.cfg.ConfirmAfter)
				confirm.push(e)
			}
			now = time.Now()
		}
		timer.Reset(wait) // since Go 1.23 a Reset timer never delivers a stale tick
		select {
		case s := <-m.in:
			m.accept(&pending, s, pending.len()+due.len()+confirm.len())
		case <-m.poke:
		case <-timer.C:
		case <-ctx.Done():
			return nil
		}
	}
}

// accept queues s (and whatever else has arrived) unless the monitor holds
// QueueSize samples already.
func (m *Monitor) accept(pending *fifo, s invalidator.Sample, held int) {
	for {
		if held >= m.cfg.QueueSize {
			m.counts.dropped.Add(1)
		} else {
			pending.push(&entry{s: s})
			held++
		}
		select {
		case s = <-m.in:
		default:
			return
		}
	}
}
