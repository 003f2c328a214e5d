package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/cachesync/cachesync/invalidator/audit"
)

// load is the workload's shape. Rates are bounded so the demo leaves a
// small machine usable.
type load struct {
	Writers, WritesPerSec int
	Readers, ReadsPerSec  int // per region
	CacheTTL              time.Duration
}

const readTimeout = 2 * time.Second

func defaultLoad() load {
	return load{Writers: 2, WritesPerSec: 120, Readers: 2, ReadsPerSec: 500, CacheTTL: time.Minute}
}

// leaseGetter is what a reader needs from the lease client: read through
// the cache, filling on a miss under a lease.
type leaseGetter interface {
	GetOrFill(ctx context.Context, key string, ttl time.Duration, fill func(context.Context) ([]byte, error)) ([]byte, error)
}

// reader is one region's app: its lease client and its database.
type reader struct {
	region string
	cache  leaseGetter
	dbs    []*pgxpool.Pool // by shard
}

// workload writes on the primaries and reads through each region's proxy.
// The stale check holds pause to stop writers while it compares.
type workload struct {
	load      load
	log       *zap.Logger
	primaries []*pgxpool.Pool // by shard
	readers   []reader

	pause      sync.RWMutex
	writes     atomic.Uint64
	reads      atomic.Uint64
	readErrors atomic.Uint64
}

// Run drives writers and readers until ctx is done and returns after all of
// them have stopped.
func (w *workload) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range w.load.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			every(ctx, perWorker(w.load.WritesPerSec, w.load.Writers), w.write)
		}()
	}
	for _, r := range w.readers {
		for range w.load.Readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				every(ctx, perWorker(w.load.ReadsPerSec, w.load.Readers), func(ctx context.Context) { w.read(ctx, r) })
			}()
		}
	}
	wg.Wait()
}

func perWorker(perSec, workers int) time.Duration {
	return time.Duration(workers) * time.Second / time.Duration(max(perSec, 1))
}

// every calls f once per interval at most; a slow f skips ticks rather than
// bursting to catch up, which is what keeps the rate bounded.
func every(ctx context.Context, interval time.Duration, f func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f(ctx)
		}
	}
}

// write changes one row's price and, every tenth price, its name, so both
// key templates get invalidated.
func (w *workload) write(ctx context.Context) {
	w.pause.RLock()
	defer w.pause.RUnlock()
	id := 1 + rand.IntN(Rows)
	_, err := w.primaries[shardOf(id, len(w.primaries))].Exec(ctx, `UPDATE public.items SET price = price + 1,
		name = CASE WHEN price % 10 = 0 THEN 'item-' || id || '-' || price ELSE name END
		WHERE id = $1`, id)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("demo write", zap.Int("id", id), zap.Error(err))
		}
		return
	}
	w.writes.Add(1)
}

func (w *workload) read(ctx context.Context, r reader) {
	id := 1 + rand.IntN(Rows)
	fill := func(ctx context.Context) ([]byte, error) {
		var name, price string
		if err := r.dbs[shardOf(id, len(r.dbs))].QueryRow(ctx, `SELECT name, price::text FROM public.items WHERE id = $1`, id).Scan(&name, &price); err != nil {
			return nil, fmt.Errorf("read item %d from %s database: %w", id, r.region, err)
		}
		v, err := audit.RenderValue(itemValue, map[string]string{"id": strconv.Itoa(id), "name": name, "price": price})
		return []byte(v), err
	}
	// A reader waiting for another's fill gives up rather than piling up.
	rctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	if _, err := r.cache.GetOrFill(rctx, "item:"+strconv.Itoa(id), w.load.CacheTTL, fill); err != nil {
		if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
			w.readErrors.Add(1)
			w.log.Debug("demo read", zap.String("region", r.region), zap.Int("id", id), zap.Error(err))
		}
		return
	}
	w.reads.Add(1)
}
