package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/region"
)

// Config is what New needs besides the file.
type Config struct {
	// File is the node's config file, already checked (config.Load).
	File config.Config
	// Role is config.RoleSidecar or config.RoleProxy.
	Role config.Role
	// Version is reported in the status and in cachesync_build_info.
	Version string
	// Logger nil: no logging.
	Logger *zap.Logger
}

// part is a role as a Node runs it.
type part interface {
	// Listen binds what the role serves, if anything.
	Listen() error
	Run(ctx context.Context) error
	Close()
	Status() region.NodeStatus
	Ready() error
}

// Node is one role of a cachesync process, a member of the fleet.
type Node struct {
	cfg    Config
	log    *zap.Logger
	reg    *prometheus.Registry
	part   part
	member *region.Node
	once   sync.Once
}

// New builds the role and its fleet membership; it starts nothing.
func New(cfg Config) (*Node, error) {
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	f := cfg.File
	name := f.Node
	if cfg.Role == config.RoleProxy {
		name += "-proxy"
	}
	log = log.With(zap.String("region", f.Region), zap.String("node", name), zap.String("role", string(cfg.Role)))
	n := &Node{cfg: cfg, log: log, reg: newRegistry(cfg.Version)}
	var err error
	switch cfg.Role {
	case config.RoleSidecar:
		n.part, err = newSidecar(f, log, n.reg)
	case config.RoleProxy:
		n.part, err = newProxy(f, log, n.reg)
	default:
		err = fmt.Errorf("unknown role %q", cfg.Role)
	}
	if err != nil {
		return nil, err
	}

	rcfg := region.DefaultConfig()
	rcfg.Region, rcfg.Node, rcfg.Role = f.Region, name, string(cfg.Role)
	rcfg.Bind, rcfg.Join, rcfg.KeyFile = f.Cluster.Bind, f.Cluster.Join, f.Cluster.KeyFile
	rcfg.HTTPListen, rcfg.PProf = f.HTTP.Listen, f.HTTP.PProf
	// Only a fallback: each source's slot status carries its own level.
	for i, s := range f.Postgres {
		if i == 0 || int64(s.RetainedWALWarnBytes) < rcfg.RetainedWALWarnBytes {
			rcfg.RetainedWALWarnBytes = int64(s.RetainedWALWarnBytes)
		}
	}
	rcfg.Gatherer, rcfg.Registerer = n.reg, n.reg
	rcfg.Logger = log.Named("region")
	rcfg.Ready = n.part.Ready
	// region fills in the region, node, role and time from rcfg.
	rcfg.Status = func() region.NodeStatus {
		st := n.part.Status()
		st.Version = cfg.Version
		return st
	}
	if n.member, err = region.New(rcfg); err != nil {
		n.part.Close()
		return nil, fmt.Errorf("membership: %w", err)
	}
	if fw, ok := n.part.(fleetWatcher); ok {
		fw.watchFleet(n.member.Fleet)
	}
	return n, nil
}

// newRegistry is one node's /metrics: a process may run several nodes
// (the demo), so none uses the global registry.
func newRegistry(version string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cachesync_build_info", Help: "Always 1; the version label says which build runs.",
		ConstLabels: prometheus.Labels{"version": version},
	}, func() float64 { return 1 }))
	return reg
}

// Registry is the node's metrics, as /metrics serves them.
func (n *Node) Registry() *prometheus.Registry { return n.reg }

// Listen binds the role's sockets, the gossip port and HTTP.
func (n *Node) Listen() error {
	if err := n.part.Listen(); err != nil {
		return err
	}
	if err := n.member.Listen(); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	n.log.Info("started", zap.String("version", n.cfg.Version), zap.Int("pid", os.Getpid()),
		zap.String("http", n.member.HTTPAddr()), zap.String("gossip", n.member.GossipAddr()))
	return nil
}

// HTTPAddr is the bound HTTP address after Listen ("" without HTTP).
func (n *Node) HTTPAddr() string { return n.member.HTTPAddr() }

// Run runs the role and the membership until ctx is done or one fails.
func (n *Node) Run(ctx context.Context) error {
	if err := runAll(ctx, n.part.Run, n.member.Run); err != nil {
		return err
	}
	n.log.Info("stopped")
	return nil
}

// Close releases the role and the membership.
func (n *Node) Close() {
	n.once.Do(func() {
		n.part.Close()
		n.member.Close()
	})
}

// Serve is New, Listen and Run: a node until ctx is done.
func Serve(ctx context.Context, cfg Config) error {
	n, err := New(cfg)
	if err != nil {
		return err
	}
	defer n.Close()
	if err := n.Listen(); err != nil {
		return err
	}
	return n.Run(ctx)
}

// runAll runs fns until ctx is done or one fails; a failure stops the others.
// It returns only after every fn has returned.
func runAll(ctx context.Context, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil && !errors.Is(err, context.Canceled) {
				once.Do(func() { first = err })
				cancel()
			}
		}()
	}
	wg.Wait()
	return first
}
