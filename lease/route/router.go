package route

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachesync/cachesync/lease/ring"
	"go.uber.org/zap"
)

// Router maps keys to servers. Build it with New.
type Router struct {
	addrs  []string
	nPool  int
	pool   ring.Ring
	gutter ring.Ring // nil without a gutter
	index  map[string]int
	log    *zap.Logger
	now    func() time.Time

	// ready is what Route reads; mu guards the inputs it is derived from.
	ready  []atomic.Bool
	mu     sync.Mutex
	health []health
}

// health is what is known of one pool server.
type health struct {
	reachable  bool
	returnedAt time.Time // when it last became reachable again
	reported   bool
	report     Report
}

// Report is what the region's sidecar said of a server, and when this
// process received it.
type Report struct {
	State    State
	Received time.Time
}

// New validates cfg and builds the router; every server starts ready.
func New(cfg Config) (*Router, error) {
	pool, err := ring.New(cfg.Hash, cfg.Servers)
	if err != nil {
		return nil, fmt.Errorf("route: pool: %w", err)
	}
	r := &Router{
		nPool: len(cfg.Servers),
		pool:  pool,
		index: make(map[string]int, len(cfg.Servers)+len(cfg.Gutter)),
		log:   cfg.Logger,
		now:   cfg.Now,
	}
	if len(cfg.Gutter) > 0 {
		if r.gutter, err = ring.New(cfg.Hash, cfg.Gutter); err != nil {
			return nil, fmt.Errorf("route: gutter: %w", err)
		}
	}
	r.addrs = append(append(r.addrs, cfg.Servers...), cfg.Gutter...)
	for i, a := range r.addrs {
		if _, dup := r.index[a]; dup {
			return nil, fmt.Errorf("route: server %s listed twice (pool and gutter must be distinct servers)", a)
		}
		r.index[a] = i
	}
	if r.log == nil {
		r.log = zap.NewNop()
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.ready = make([]atomic.Bool, r.nPool)
	r.health = make([]health, r.nPool)
	for i := range r.ready {
		r.ready[i].Store(true)
		r.health[i].reachable = true
	}
	return r, nil
}

// Route returns the index (into Addrs) of the server key goes to, and
// whether it is a gutter server.
func (r *Router) Route(key string) (server int, gutter bool) {
	i := r.pool.Pick(key)
	if r.gutter == nil || r.ready[i].Load() {
		return i, false
	}
	return r.nPool + r.gutter.Pick(key), true
}

// Owner returns the index of key's pool server, whatever its state.
func (r *Router) Owner(key string) int { return r.pool.Pick(key) }

// Gutter returns the index of the gutter server that holds key's copy
// while its owner is out; ok is false without a gutter.
func (r *Router) Gutter(key string) (server int, ok bool) {
	if r.gutter == nil {
		return 0, false
	}
	return r.nPool + r.gutter.Pick(key), true
}

// Addrs returns every server: the pool's, then the gutter's.
func (r *Router) Addrs() []string { return append([]string(nil), r.addrs...) }

// NumPool is the number of pool servers; indexes from NumPool on are the
// gutter's.
func (r *Router) NumPool() int { return r.nPool }

// IsGutter reports whether index i is a gutter server.
func (r *Router) IsGutter(i int) bool { return i >= r.nPool }

// Ready reports whether pool server i is served from.
func (r *Router) Ready(i int) bool { return i < r.nPool && r.ready[i].Load() }

// ErrUnknownServer is returned by the setters for an address that is not a
// pool server.
var ErrUnknownServer = errors.New("route: not a pool server")

// SetReachable records whether this process reaches pool server addr.
func (r *Router) SetReachable(addr string, up bool) error {
	return r.update(addr, func(h *health) {
		if up && !h.reachable {
			h.returnedAt = r.now()
		}
		h.reachable = up
	})
}

// SetReport records the sidecar's report on pool server addr.
func (r *Router) SetReport(addr string, rep Report) error {
	return r.update(addr, func(h *health) { h.reported, h.report = true, rep })
}

// ClearReport forgets the sidecar's report on addr: no sidecar reports it
// any more, so this process's own view decides.
func (r *Router) ClearReport(addr string) error {
	return r.update(addr, func(h *health) { h.reported, h.report = false, Report{} })
}

func (r *Router) update(addr string, change func(*health)) error {
	i, ok := r.index[addr]
	if !ok || i >= r.nPool {
		return fmt.Errorf("%w: %s", ErrUnknownServer, addr)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h := &r.health[i]
	change(h)
	ready, why := h.judge()
	if r.ready[i].Swap(ready) == ready {
		return nil
	}
	if ready {
		r.log.Info("memcached server back in rotation", zap.String("server", addr))
	} else {
		r.log.Warn("memcached server out of rotation", zap.String("server", addr),
			zap.String("why", why), zap.Bool("gutter", r.gutter != nil))
	}
	return nil
}

// judge is the one rule of readiness; why says what keeps it out.
func (h *health) judge() (ready bool, why string) {
	switch {
	case !h.reachable:
		return false, "unreachable from here"
	case !h.reported:
		return true, ""
	case h.report.State != StateUp:
		return false, "sidecar reports " + h.report.State.String()
	case !h.returnedAt.IsZero() && !h.report.Received.After(h.returnedAt):
		return false, "back, waiting for the sidecar to report it up to date"
	}
	return true, ""
}
