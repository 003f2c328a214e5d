package backend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Pool routes Ops to the connections of its servers.
type Pool struct {
	cfg     Config
	log     *zap.Logger
	servers []*server
	ready   chan struct{}
	pending sync.WaitGroup

	mu     sync.Mutex
	cancel context.CancelFunc
	closed bool
	done   chan struct{}
}

// ServerState is one server's address and whether it is up.
type ServerState struct {
	Addr string
	Up   bool
}

type server struct {
	index  int
	addr   string
	conns  atomic.Pointer[[]*conn]
	rr     atomic.Uint32
	errors atomic.Uint64
	up     prometheus.Gauge
	errCtr prometheus.Counter
}

// New validates cfg; it starts nothing.
func New(cfg Config) (*Pool, error) {
	d := DefaultConfig()
	if len(cfg.Servers) == 0 {
		return nil, errors.New("backend: no servers")
	}
	if cfg.ConnsPerServer <= 0 {
		cfg.ConnsPerServer = d.ConnsPerServer
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = d.Timeout
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = d.ProbeInterval
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = d.MaxPending
	}
	p := &Pool{cfg: cfg, log: cfg.Logger, ready: make(chan struct{}), done: make(chan struct{})}
	if p.log == nil {
		p.log = zap.NewNop()
	}
	up := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "cachesync_backend_up", Help: "1 when the memcached server is reachable.",
	}, []string{"server"})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cachesync_backend_errors_total", Help: "Requests failed by a memcached server being down, slow or broken.",
	}, []string{"server"})
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(up); err != nil {
			return nil, fmt.Errorf("register backend metrics: %w", err)
		}
		if err := cfg.Registerer.Register(errs); err != nil {
			return nil, fmt.Errorf("register backend metrics: %w", err)
		}
	}
	for i, a := range cfg.Servers {
		p.servers = append(p.servers, &server{index: i, addr: a, up: up.WithLabelValues(a), errCtr: errs.WithLabelValues(a)})
	}
	return p, nil
}

// NumServers is the number of servers.
func (p *Pool) NumServers() int { return len(p.servers) }

// Ready is closed once every server has been dialled once (up or not).
func (p *Pool) Ready() <-chan struct{} { return p.ready }

// Do submits op to server i; the caller then calls op.Wait. Ops to a down
// server complete at once with ErrServerDown.
func (p *Pool) Do(i int, op *Op) {
	s := p.servers[i]
	cs := s.conns.Load()
	if cs != nil {
		// Skip the shared counter in the common one-connection case.
		c := (*cs)[0]
		if n := len(*cs); n > 1 {
			c = (*cs)[int(s.rr.Add(1))%n]
		}
		if c.enqueue(op) {
			return
		}
	}
	s.errors.Add(1)
	s.errCtr.Inc()
	op.finish(ErrServerDown)
}

// Errors returns how many ops failed fast because their server was down.
func (p *Pool) Errors() uint64 {
	var n uint64
	for _, s := range p.servers {
		n += s.errors.Load()
	}
	return n
}

// ServersUp reports each server's state.
func (p *Pool) ServersUp() []ServerState {
	out := make([]ServerState, len(p.servers))
	for i, s := range p.servers {
		out[i] = ServerState{Addr: s.addr, Up: s.conns.Load() != nil}
	}
	return out
}

// Run dials every server and keeps them connected until ctx is done or
// Close is called. It returns after all its goroutines exited.
func (p *Pool) Run(ctx context.Context) error {
	p.mu.Lock()
	if p.closed || p.cancel != nil {
		p.mu.Unlock()
		return errors.New("backend: pool already running or closed")
	}
	ctx, p.cancel = context.WithCancel(ctx)
	p.mu.Unlock()
	defer close(p.done)
	var wg, first sync.WaitGroup
	first.Add(len(p.servers))
	for _, s := range p.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.manage(ctx, s, first.Done)
		}()
	}
	first.Wait()
	close(p.ready)
	wg.Wait()
	return nil
}

// Close stops Run and waits for it; safe to call twice and before Run.
func (p *Pool) Close() error {
	p.mu.Lock()
	wasClosed := p.closed
	p.closed = true
	cancel := p.cancel
	p.mu.Unlock()
	if cancel != nil {
		cancel()
		if !wasClosed {
			<-p.done
		}
	}
	return nil
}

// manage keeps one server connected: dial, serve until a connection dies,
// tear down, probe until it answers again.
func (p *Pool) manage(ctx context.Context, s *server, firstDone func()) {
	var once sync.Once
	markReady := func() { once.Do(firstDone) }
	defer markReady()
	died := make(chan struct{}, 1)
	wasUp := true
	for ctx.Err() == nil {
		conns, err := p.dialAll(ctx, s, died)
		if err != nil {
			if wasUp {
				p.log.Warn("memcached server down", zap.String("server", s.addr), zap.Error(err))
				p.changed(s, false)
				wasUp = false
			}
			s.up.Set(0)
			markReady()
			select {
			case <-ctx.Done():
			case <-time.After(p.cfg.ProbeInterval):
			}
			continue
		}
		if !wasUp {
			p.log.Info("memcached server up", zap.String("server", s.addr))
		}
		wasUp = false
		p.serve(ctx, s, conns, died, markReady)
	}
}

func (p *Pool) serve(ctx context.Context, s *server, conns []*conn, died chan struct{}, markReady func()) {
	var wg sync.WaitGroup
	published := &conns
	for _, c := range conns {
		c.onFail = func() {
			if s.conns.CompareAndSwap(published, nil) {
				p.changed(s, false)
			}
		}
	}
	// Publish before the readers start: only they and callers (who find the
	// connections here) can fail a connection, so onFail can never run
	// before the connections are visible.
	s.conns.Store(published)
	s.up.Set(1)
	p.changed(s, true)
	for _, c := range conns {
		wg.Add(1)
		go func() { defer wg.Done(); c.readLoop() }()
	}
	markReady()
	select {
	case <-ctx.Done():
	case <-died:
	}
	if s.conns.Swap(nil) != nil {
		p.changed(s, false)
	}
	s.up.Set(0)
	var cause error
	for _, c := range conns {
		c.mu.Lock()
		if cause == nil {
			cause = c.err
		}
		c.mu.Unlock()
		c.fail(ErrServerDown)
	}
	wg.Wait()
	for _, c := range conns {
		c.drain()
	}
	select {
	case <-died:
	default:
	}
	if ctx.Err() == nil {
		p.log.Warn("memcached server down", zap.String("server", s.addr), zap.Error(cause))
	}
}

func (p *Pool) dialAll(ctx context.Context, s *server, died chan struct{}) ([]*conn, error) {
	d := net.Dialer{Timeout: p.cfg.Timeout, KeepAlive: 30 * time.Second}
	conns := make([]*conn, 0, p.cfg.ConnsPerServer)
	for range p.cfg.ConnsPerServer {
		nc, err := d.DialContext(ctx, "tcp", s.addr)
		if err != nil {
			for _, c := range conns {
				_ = c.nc.Close()
			}
			return nil, fmt.Errorf("dial %s: %w", s.addr, err)
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
		if err := p.probe(nc); err != nil {
			_ = nc.Close()
			for _, c := range conns {
				_ = c.nc.Close()
			}
			return nil, err
		}
		conns = append(conns, newConn(nc, p.cfg.Timeout, p.cfg.MaxPending, died))
	}
	return conns, nil
}

// changed tells Config.OnChange that server s went up or down.
func (p *Pool) changed(s *server, up bool) {
	if p.cfg.OnChange != nil {
		p.cfg.OnChange(s.index, up)
	}
}

// probe asks a fresh connection for memcached's version before it carries
// requests: a stopped (SIGSTOP) or wedged server still completes TCP
// handshakes from its listen backlog, and without the probe every redial
// would mark it up again until its first request timed out.
func (p *Pool) probe(nc net.Conn) error {
	_ = nc.SetDeadline(time.Now().Add(p.cfg.Timeout))
	defer nc.SetDeadline(time.Time{}) //nolint:errcheck // the next deadline set replaces it
	if _, err := nc.Write([]byte("version\r\n")); err != nil {
		return fmt.Errorf("probe %s: %w", nc.RemoteAddr(), err)
	}
	// Nothing else is sent before the answer, so all that arrives is it.
	var buf [64]byte
	n := 0
	for n < len(buf) && bytes.IndexByte(buf[:n], '\n') < 0 {
		m, err := nc.Read(buf[n:])
		if err != nil {
			return fmt.Errorf("probe %s: no answer to version: %w", nc.RemoteAddr(), err)
		}
		n += m
	}
	if !bytes.HasPrefix(buf[:n], []byte("VERSION ")) || !bytes.HasSuffix(buf[:n], []byte("\r\n")) {
		return fmt.Errorf("probe %s: answered version with %q", nc.RemoteAddr(), buf[:n])
	}
	return nil
}
