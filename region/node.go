package region

import (
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"
)

// leaveTimeout bounds how long a graceful stop waits for the leave intent to
// reach another member.
const leaveTimeout = 2 * time.Second

// Node is one member of the fleet: gossip and HTTP.
type Node struct {
	cfg     Config
	log     *zap.Logger
	key     []byte
	tab     *table
	peers   *peers
	hist    *history
	metrics *metrics
	queue   *memberlist.TransmitLimitedQueue

	ml      atomic.Pointer[memberlist.Memberlist]
	lastSeq atomic.Int64
	mute    atomic.Bool

	mu        sync.Mutex
	listening bool
	running   bool
	stopped   bool
	httpLn    net.Listener
	httpSrv   *http.Server

	done      chan struct{}
	closeOnce sync.Once
}

// New validates cfg and prepares a node; it binds and starts nothing.
func New(cfg Config) (*Node, error) {
	def := DefaultConfig()
	if cfg.Region == "" {
		return nil, errors.New("region: Config.Region is required")
	}
	if cfg.Node == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("region: node name from hostname: %w", err)
		}
		cfg.Node = h
	}
	if cfg.Role == "" {
		cfg.Role = def.Role
	}
	if cfg.Bind == "" {
		cfg.Bind = def.Bind
	}
	if cfg.StatusInterval <= 0 {
		cfg.StatusInterval = def.StatusInterval
	}
	if cfg.RetainedWALWarnBytes <= 0 {
		cfg.RetainedWALWarnBytes = def.RetainedWALWarnBytes
	}
	if cfg.LagWarn <= 0 {
		cfg.LagWarn = def.LagWarn
	}
	if cfg.LagCrit <= 0 {
		cfg.LagCrit = def.LagCrit
	}
	if cfg.ForgetAfter <= 0 {
		cfg.ForgetAfter = def.ForgetAfter
	}
	if cfg.HistoryInterval <= 0 {
		cfg.HistoryInterval = def.HistoryInterval
	}
	if cfg.HistoryRetention <= 0 {
		cfg.HistoryRetention = def.HistoryRetention
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if _, _, err := splitHostPort(cfg.Bind); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:   cfg,
		log:   cfg.Logger.With(zap.String("node", cfg.Node), zap.String("region", cfg.Region)),
		tab:   newTable(time.Now),
		peers: newPeers(),
		hist:  newHistory(cfg.HistoryRetention),
		done:  make(chan struct{}),
	}
	if cfg.KeyFile != "" {
		key, err := readKey(cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("region: %w", err)
		}
		n.key = key
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("region: %w", err)
	}
	n.metrics = m
	n.queue = &memberlist.TransmitLimitedQueue{
		NumNodes: func() int {
			if ml := n.ml.Load(); ml != nil {
				return ml.NumMembers()
			}
			return 1
		},
		RetransmitMult: memberlist.DefaultLANConfig().RetransmitMult,
	}
	return n, nil
}

// Listen binds the gossip port and the HTTP port, so GossipAddr and HTTPAddr
// answer with the real ports. Calling it again does nothing.
func (n *Node) Listen() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return errors.New("region: node closed")
	}
	if n.listening {
		return nil
	}
	if n.cfg.HTTPListen != "" {
		ln, err := net.Listen("tcp", n.cfg.HTTPListen)
		if err != nil {
			return fmt.Errorf("listen http %s: %w", n.cfg.HTTPListen, err)
		}
		n.httpLn = ln
		n.httpSrv = &http.Server{
			Handler:           n.Handler(),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          log.New(zapWriter{log: n.log.Named("http")}, "", 0),
		}
	}
	ml, err := memberlist.Create(n.memberlistConfig())
	if err != nil {
		if n.httpLn != nil {
			_ = n.httpLn.Close()
			n.httpLn, n.httpSrv = nil, nil
		}
		return fmt.Errorf("start gossip on %s: %w", n.cfg.Bind, err)
	}
	n.ml.Store(ml)
	n.listening = true
	return nil
}

func (n *Node) memberlistConfig() *memberlist.Config {
	host, port, _ := splitHostPort(n.cfg.Bind) // checked in New
	mc := memberlist.DefaultLANConfig()
	mc.Name = n.cfg.Node
	mc.BindAddr = host
	mc.BindPort = port
	mc.AdvertisePort = port
	// A restarted node may come back on another port (port 0 in tests).
	mc.DeadNodeReclaimTime = 10 * time.Second
	if n.cfg.ProbeInterval > 0 {
		mc.ProbeInterval = n.cfg.ProbeInterval
		if mc.ProbeTimeout >= n.cfg.ProbeInterval {
			mc.ProbeTimeout = n.cfg.ProbeInterval / 2
		}
	}
	if n.cfg.GossipInterval > 0 {
		mc.GossipInterval = n.cfg.GossipInterval
	}
	if n.cfg.PushPullInterval > 0 {
		mc.PushPullInterval = n.cfg.PushPullInterval
	}
	mc.SecretKey = n.key
	d := &delegate{
		meta:  encodeMeta(nodeMeta{Region: n.cfg.Region, Role: n.cfg.Role}),
		tab:   n.tab,
		peers: n.peers,
		queue: n.queue,
		log:   n.log,
		mute:  &n.mute,
	}
	mc.Delegate = d
	mc.Events = d
	mc.Logger = log.New(zapWriter{log: n.log.Named("memberlist"), mute: &n.mute}, "", 0)
	return mc
}

// GossipAddr is the bound gossip address ("" before Listen).
func (n *Node) GossipAddr() string {
	ml := n.ml.Load()
	if ml == nil {
		return ""
	}
	return ml.LocalNode().Address()
}

// HTTPAddr is the bound HTTP address ("" before Listen or without HTTP).
func (n *Node) HTTPAddr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.httpLn == nil {
		return ""
	}
	return n.httpLn.Addr().String()
}

// Close stops gossip and HTTP without a leave intent: the others see this
// node die. Run, if running, returns. Safe to call more than once.
func (n *Node) Close() {
	n.closeOnce.Do(func() { close(n.done) })
	n.stop(false)
}

// stop shuts gossip and HTTP down once; leave first tells the others.
func (n *Node) stop(leave bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return
	}
	n.stopped = true
	if ml := n.ml.Load(); ml != nil {
		if leave {
			n.announceLeave(ml)
			if err := ml.Leave(leaveTimeout); err != nil {
				n.log.Warn("leave cluster", zap.Error(err))
			}
		}
		if err := ml.Shutdown(); err != nil {
			n.log.Warn("shut down gossip", zap.Error(err))
		}
		n.mute.Store(true)
	}
	if n.httpSrv != nil {
		// Closing drops open requests at once; dashboards reconnect.
		_ = n.httpSrv.Close()
		_ = n.httpLn.Close()
	}
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("region: bind address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("region: bind address %q: bad port", addr)
	}
	return host, port, nil
}

// announceLeave tells every member, over TCP, that this node is leaving on
// purpose, before memberlist's own leave message goes out.
func (n *Node) announceLeave(ml *memberlist.Memberlist) {
	msg := encodeLeave(n.cfg.Node)
	var wg sync.WaitGroup
	for _, m := range n.peers.others(n.cfg.Node) {
		wg.Go(func() {
			if err := ml.SendReliable(m, msg); err != nil {
				n.log.Debug("send leave intent", zap.String("to", m.Name), zap.Error(err))
			}
		})
	}
	wg.Wait()
}
