package invalidator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachesync/cachesync/lease/route"
	"github.com/cachesync/cachesync/replication"
	"go.uber.org/zap"
)

// Invalidator implements replication.Handler: Handler calls queue keys, Run
// delivers them and acks transactions.
type Invalidator struct {
	cfg     Config
	log     *zap.Logger
	tables  map[replication.Table]*compiledTable
	metrics *metrics

	// servers is the pool followed by the gutter, indexed as router's
	// Addrs: the proxies route with the same piece, so both agree on where
	// a key's copies may be.
	servers  []*server
	router   *route.Router
	routeBuf [2]*server

	track  *tracker
	gating *gateStage

	queue     chan []event
	queued    atomic.Int64 // events in queue and carry
	closed    chan struct{}
	closeOnce sync.Once
	running   atomic.Bool

	// Handler state: Handler calls come from one goroutine.
	rels map[uint32]*relRules
	// keyTypes are the key columns' types in the last Relation of each
	// configured table.
	keyTypes map[replication.Table]map[string]colType
	cur      *txn
	keyBuf   []string
	chunk    []event

	// carry holds the rest of a chunk after its batch was sealed, and
	// carryChunk the whole chunk, to recycle once carry is used up (loop
	// only).
	carry      []event
	carryChunk []event

	invalidations atomic.Uint64
	keyErrors     atomic.Uint64
	truncates     atomic.Uint64
	// publicationFlushes counts flush messages (replication.FlushPrefix).
	publicationFlushes atomic.Uint64
	typeChanges        atomic.Uint64
	batchKeys          atomic.Int64
	lastDelivered      atomic.Int64
	rate               rateMeter
	keyErrLog          rateLog

	// schemaProblems is what Watch saw last.
	schemaMu       sync.Mutex
	schemaProblems []string

	// newBackend opens a server connection; tests replace it.
	newBackend func(addr string) backend
}

// New validates cfg and builds an Invalidator. It starts nothing.
func New(cfg Config) (*Invalidator, error) {
	tables, err := cfg.validate()
	if err != nil {
		return nil, fmt.Errorf("invalidator config: %w", err)
	}
	rt, err := route.New(route.Config{Hash: cfg.Hash, Servers: cfg.Servers, Gutter: cfg.Gutter})
	if err != nil {
		return nil, fmt.Errorf("invalidator config: %w", err)
	}
	inv := &Invalidator{
		cfg:       cfg,
		log:       cfg.Logger,
		tables:    tables,
		gating:    &gateStage{notify: make(chan struct{}, 1)},
		queue:     make(chan []event, max(1, cfg.MaxQueued/queueChunk)),
		closed:    make(chan struct{}),
		router:    rt,
		rels:      map[uint32]*relRules{},
		keyTypes:  map[replication.Table]map[string]colType{},
		keyErrLog: rateLog{interval: time.Second},
	}
	if inv.log == nil {
		inv.log = zap.NewNop()
	}
	inv.log = inv.log.Named("invalidator")
	inv.metrics, err = newMetrics(cfg.Registerer, inv)
	if err != nil {
		return nil, fmt.Errorf("invalidator metrics: %w", err)
	}
	gutter := map[string]bool{}
	inv.newBackend = func(addr string) backend { return newMCConn(addr, &inv.cfg, gutter[addr]) }
	inv.track = newTracker(inv)
	inv.track.onAcked = inv.acked
	for i, addr := range rt.Addrs() {
		gutter[addr] = rt.IsGutter(i)
		inv.servers = append(inv.servers, inv.newServer(addr, rt.IsGutter(i)))
	}
	return inv, nil
}

// Tables returns the configured tables, sorted: what the publication must
// publish.
func (inv *Invalidator) Tables() []replication.Table {
	out := make([]replication.Table, 0, len(inv.tables))
	for t := range inv.tables {
		out = append(out, t)
	}
	sortTables(out)
	return out
}

func sortTables(ts []replication.Table) {
	slices.SortFunc(ts, func(a, b replication.Table) int {
		return cmp.Or(cmp.Compare(a.Schema, b.Schema), cmp.Compare(a.Name, b.Name))
	})
}

func (inv *Invalidator) newServer(addr string, gutter bool) *server {
	return &server{
		inv: inv, addr: addr, gutter: gutter, notify: make(chan struct{}),
		upGauge: inv.metrics.up.WithLabelValues(addr), dropped: inv.metrics.dropped.WithLabelValues(addr),
	}
}

// Close stops Run and unblocks Handler calls. Safe to call more than once.
func (inv *Invalidator) Close() {
	inv.closeOnce.Do(func() { close(inv.closed) })
}

// Run delivers queued keys until ctx ends or Close is called, and returns
// after every goroutine it started has exited. Keys still queued then are
// not acked, so replication sends them again after a restart.
func (inv *Invalidator) Run(ctx context.Context) error {
	if !inv.running.CompareAndSwap(false, true) {
		return errors.New("invalidator: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-inv.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer wg.Wait()
	for _, s := range inv.servers {
		for i := range inv.cfg.InFlight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				inv.runWorker(ctx, s, i)
			}()
		}
	}
	if inv.cfg.Gate != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inv.runGate(ctx)
		}()
	}
	for {
		b := inv.track.get()
		if err := inv.collect(ctx, b); err != nil {
			return nil // ctx ended or Close: a normal stop
		}
		if err := inv.track.open(ctx, b); err != nil {
			return nil
		}
		inv.batchKeys.Store(0)
		if inv.cfg.Gate != nil {
			inv.gating.push(b)
		} else {
			inv.release(b)
		}
	}
}
