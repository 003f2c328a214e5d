package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/cachesync/cachesync/lease/backend"
	"github.com/cachesync/cachesync/lease/route"
	"go.uber.org/zap"
)

// maxServers bounds the pool so a lease token can carry the server index.
const maxServers = 1 << tokenServerBits

// Server is the proxy.
type Server struct {
	cfg   Config
	log   *zap.Logger
	route *route.Router
	pool  *backend.Pool
	ctr   counters
	// gutterSecs is GutterTTL in whole seconds, at least 1.
	gutterSecs int64
	// book remembers classic gets' leases; nil without ClassicLeases.
	book *leaseBook
	// binary is shared by all connections: it logs once per client address.
	binary binaryRefusals

	mu      sync.Mutex
	ln      net.Listener
	clients map[net.Conn]struct{}
	closed  bool
	cancel  context.CancelFunc
	running bool
	done    chan struct{}
}

// New validates cfg and builds the proxy; it starts nothing.
func New(cfg Config) (*Server, error) {
	d := DefaultConfig()
	if len(cfg.Servers) == 0 {
		return nil, errors.New("proxy: no memcached servers")
	}
	if n := len(cfg.Servers) + len(cfg.Gutter); n > maxServers {
		return nil, fmt.Errorf("proxy: %d servers and gutter servers, at most %d", n, maxServers)
	}
	if cfg.Listen == "" {
		cfg.Listen = d.Listen
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = d.LeaseTTL
	}
	if cfg.ClassicLeaseLimit <= 0 {
		cfg.ClassicLeaseLimit = d.ClassicLeaseLimit
	}
	if cfg.HotMissWait < 0 {
		cfg.HotMissWait = 0
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = d.MaxConns
	}
	if cfg.MaxItemSize <= 0 {
		cfg.MaxItemSize = d.MaxItemSize
	}
	if cfg.ConnsPerServer <= 0 {
		cfg.ConnsPerServer = d.ConnsPerServer
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = d.Timeout
	}
	if cfg.GutterTTL <= 0 {
		cfg.GutterTTL = d.GutterTTL
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	r, err := route.New(route.Config{Hash: cfg.Hash, Servers: cfg.Servers, Gutter: cfg.Gutter, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	// One pool over the pool's servers and then the gutter's, so a route
	// index is a pool index and a lease token can name a gutter server.
	addrs := r.Addrs()
	pool, err := backend.New(backend.Config{
		Servers: addrs,
		OnChange: func(i int, up bool) {
			if !r.IsGutter(i) {
				_ = r.SetReachable(addrs[i], up) // i is a pool server
			}
		},
		ConnsPerServer: cfg.ConnsPerServer,
		Timeout:        cfg.Timeout,
		Logger:         log,
		Registerer:     cfg.Registerer,
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	s := &Server{cfg: cfg, log: log, route: r, pool: pool, clients: map[net.Conn]struct{}{}, done: make(chan struct{}),
		gutterSecs: max(1, int64(cfg.GutterTTL/time.Second))}
	s.binary = binaryRefusals{log: log, ctr: &s.ctr, logged: map[string]struct{}{}}
	if cfg.ClassicLeases {
		s.book = newLeaseBook(cfg.LeaseTTL, cfg.ClassicLeaseLimit, &s.ctr.bookEvicted)
	}
	if err := registerMetrics(cfg.Registerer, &s.ctr); err != nil {
		return nil, fmt.Errorf("proxy: register metrics: %w", err)
	}
	return s, nil
}

// Listen binds the listening socket, so Addr works before Run.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("proxy: closed")
	}
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("proxy: listen %s: %w", s.cfg.Listen, err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address ("" before Listen).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	st := s.ctr.snapshot()
	return st
}

// ServersUp reports each memcached server's state: the pool's, then the
// gutter's.
func (s *Server) ServersUp() []ServerState { return s.pool.ServersUp() }

// Run serves until ctx is done or Close is called, and returns after every
// goroutine it started has exited.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.running || s.closed {
		s.mu.Unlock()
		return errors.New("proxy: already running or closed")
	}
	s.running = true
	ctx, s.cancel = context.WithCancel(ctx)
	ln := s.ln
	s.mu.Unlock()
	defer close(s.done)

	var wg sync.WaitGroup
	poolCtx, stopPool := context.WithCancel(context.Background())
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = s.pool.Run(poolCtx)
	}()
	select {
	case <-s.pool.Ready():
	case <-ctx.Done():
	}

	var clients sync.WaitGroup
	acceptErr := make(chan error, 1)
	go func() { acceptErr <- s.accept(ctx, ln, &clients) }()
	var err error
	select {
	case <-ctx.Done():
		_ = ln.Close()
		<-acceptErr
	case err = <-acceptErr:
		_ = ln.Close()
	}
	s.mu.Lock()
	for c := range s.clients {
		_ = c.Close()
	}
	s.mu.Unlock()
	clients.Wait()
	stopPool()
	wg.Wait()
	return err
}

func (s *Server) accept(ctx context.Context, ln net.Listener, clients *sync.WaitGroup) error {
	var bo acceptBackoff
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !retryableAccept(err) {
				return fmt.Errorf("proxy: accept: %w", err)
			}
			if d := bo.failed(s.log, err, time.Now()); !sleepCtx(ctx, d) {
				return nil
			}
			continue
		}
		bo.succeeded(s.log, time.Now())
		if s.ctr.conns.Load() >= int64(s.cfg.MaxConns) {
			// memcached's answer when over its connection limit.
			_, _ = nc.Write([]byte("ERROR Too many open connections\r\n"))
			_ = nc.Close()
			continue
		}
		s.mu.Lock()
		s.clients[nc] = struct{}{}
		s.mu.Unlock()
		s.ctr.conns.Add(1)
		s.ctr.totalConns.Add(1)
		clients.Add(1)
		go func() {
			defer clients.Done()
			defer s.ctr.conns.Add(-1)
			newClient(s, nc).serve()
			s.mu.Lock()
			delete(s.clients, nc)
			s.mu.Unlock()
			_ = nc.Close()
		}()
	}
}

// Close stops Run and waits for it; safe to call twice and before Run.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	running, cancel, ln := s.running, s.cancel, s.ln
	s.mu.Unlock()
	if running {
		cancel()
		<-s.done
		return nil
	}
	if ln != nil {
		return ln.Close()
	}
	return nil
}
