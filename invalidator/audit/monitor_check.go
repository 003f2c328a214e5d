package audit

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/cachesync/cachesync/replication"
)

// cacheReader reads one key as a reader would see it, handing back any
// lease the read won.
type cacheReader interface {
	get(key string) (fetched, error)
	close()
}

// rowReader reads, in PostgreSQL's text form, the row of table that has
// the identity (primary key) of sample, and returns that identity too.
type rowReader interface {
	row(ctx context.Context, table string, sample map[string]string) (id, row map[string]string, found bool, err error)
	// position is the newest WAL position whose commits a read made now
	// can see (the replica's replay position, or the primary's insert
	// position).
	position(ctx context.Context) (replication.LSN, error)
	close()
}

// step checks e once. A first check that finds a difference returns e, to
// be confirmed once ConfirmAfter has passed and every change the database
// read could see has been invalidated (e.seen delivered): until then a
// newer row may only be waiting for its invalidation, which is lag, not an
// inconsistency. Everything else is counted here.
func (m *Monitor) step(ctx context.Context, e *entry) *entry {
	t := m.tables[e.s.Table]
	if t == nil {
		m.counts.skipped.Add(1)
		return nil
	}
	if e.confirming {
		m.confirm(ctx, t, e)
		return nil
	}
	// The cache first: a row that changes after this read cannot make an
	// old value look current, and a stale or missing key needs no query.
	f, ok := m.read(e.s.Key)
	if !ok {
		return nil
	}
	if f.state != cached {
		m.counts.checked[kindIndex(t.kind)].Add(1)
		return nil
	}
	v, ok := m.lookup(ctx, t, e)
	switch {
	case !ok:
		return nil
	case !v.judged:
		m.counts.skipped.Add(1)
		return nil
	case t.agrees(v, f):
		m.counts.checked[kindIndex(t.kind)].Add(1)
		return nil
	}
	pos, err := m.db.position(ctx)
	m.dbState.observe(m.log, err)
	if err != nil {
		if ctx.Err() == nil {
			m.counts.errors.Add(1)
		}
		return nil
	}
	e.confirming, e.want, e.seen = true, v.want, pos
	return e
}

// confirm reads the database, then the cache, again: the difference counts
// only when the row is unchanged and the cache still contradicts it.
func (m *Monitor) confirm(ctx context.Context, t *monTable, e *entry) {
	v, ok := m.lookup(ctx, t, e)
	if !ok {
		return
	}
	f, ok := m.read(e.s.Key)
	if !ok {
		return
	}
	k := kindIndex(t.kind)
	m.counts.checked[k].Add(1)
	if !v.judged || v.want != e.want || t.agrees(v, f) {
		m.counts.unconfirmed.Add(1)
		return
	}
	n := m.record(InconsistentKey{Key: e.s.Key, Table: t.name, Kind: t.kind, Cached: string(f.value), Database: v.want, At: time.Now()})
	// A line at the 1st, 2nd, 4th, 8th … inconsistency: each is news, a
	// flood of them is one story (the keys are on the dashboard).
	if n&(n-1) == 0 {
		m.log.Warn("inconsistent key: the cache contradicts the database",
			zap.String("key", e.s.Key), zap.String("table", t.name),
			zap.String("cached", firstBytes(string(f.value))), zap.String("database", firstBytes(v.want)),
			zap.Uint64("inconsistent_so_far", n))
	}
}

// depState is a dependency's last observed state, so that only changes
// are logged (Run's goroutine only).
type depState struct {
	what string
	down bool
}

func (d *depState) observe(log *zap.Logger, err error) {
	switch {
	case err != nil && !d.down:
		log.Warn("cannot read "+d.what+"; samples are lost until it answers", zap.Error(err))
	case err == nil && d.down:
		log.Info(d.what + " answers the monitor again")
	}
	d.down = err != nil
}

func (m *Monitor) read(key string) (fetched, bool) {
	f, err := m.cache.get(key)
	m.cacheState.observe(m.log, err)
	if err != nil {
		m.counts.errors.Add(1)
		return fetched{}, false
	}
	return f, true
}

func (m *Monitor) lookup(ctx context.Context, t *monTable, e *entry) (verdict, bool) {
	id, row, found, err := m.db.row(ctx, t.name, e.s.Row)
	switch {
	case errors.Is(err, errNoIdentity):
		m.counts.skipped.Add(1)
		return verdict{}, false
	case err != nil && ctx.Err() != nil:
		return verdict{}, false // stopping
	}
	m.dbState.observe(m.log, err)
	if err != nil {
		m.counts.errors.Add(1)
		return verdict{}, false
	}
	return t.judge(e.s.Key, row, found, id), true
}
