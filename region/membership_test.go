package region

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

type testNode struct {
	*Node
	queue  atomic.Int64
	cancel context.CancelFunc
	done   chan error
}

// startNode runs a node on free loopback ports with fast gossip.
func startNode(t *testing.T, region, name, role string, join []string, mutate func(*Config)) *testNode {
	t.Helper()
	tn := &testNode{done: make(chan error, 1)}
	cfg := DefaultConfig()
	cfg.Region, cfg.Node, cfg.Role = region, name, role
	cfg.Bind, cfg.HTTPListen, cfg.Join = "127.0.0.1:0", "", join
	cfg.StatusInterval = 100 * time.Millisecond
	cfg.ProbeInterval = 100 * time.Millisecond
	cfg.GossipInterval = 50 * time.Millisecond
	cfg.PushPullInterval = 500 * time.Millisecond
	cfg.HistoryInterval = 100 * time.Millisecond
	cfg.Logger = zaptest.NewLogger(t).Named(name)
	cfg.Status = func() NodeStatus {
		return NodeStatus{Active: role == "sidecar", Healthy: true, QueueDepth: int(tn.queue.Load())}
	}
	if mutate != nil {
		mutate(&cfg)
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Listen(); err != nil {
		t.Fatal(err)
	}
	tn.Node = n
	ctx, cancel := context.WithCancel(context.Background())
	tn.cancel = cancel
	go func() { tn.done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := tn.wait(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	})
	return tn
}

// wait returns Run's result, once.
func (tn *testNode) wait() error {
	select {
	case err, ok := <-tn.done:
		if !ok {
			return nil
		}
		close(tn.done)
		return err
	case <-time.After(10 * time.Second):
		return fmt.Errorf("Run did not return")
	}
}

func member(n *Node, name string) (Member, error) {
	for _, m := range n.Fleet() {
		if m.Name == name {
			return m, nil
		}
	}
	return Member{}, fmt.Errorf("%s does not know %s", n.cfg.Node, name)
}

func TestFleetThreeNodesTwoRegions(t *testing.T) {
	a := startNode(t, "east", "east-1", "sidecar", nil, nil)
	b := startNode(t, "east", "east-proxy", "proxy", []string{a.GossipAddr()}, func(c *Config) {
		// A status this big cannot go as a UDP broadcast.
		c.Status = func() NodeStatus {
			st := NodeStatus{Healthy: true, Proxy: &ProxyStatus{Hits: 5}}
			for i := range 40 {
				st.Memcached = append(st.Memcached, ServerStatus{Addr: fmt.Sprintf("127.0.0.1:%d", 20000+i), Up: true})
			}
			return st
		}
	})
	c := startNode(t, "west", "west-1", "sidecar", []string{a.GossipAddr()}, nil)
	want := map[string][2]string{"east-1": {"east", "sidecar"}, "east-proxy": {"east", "proxy"}, "west-1": {"west", "sidecar"}}
	for _, n := range []*testNode{a, b, c} {
		eventually(t, 10*time.Second, func() error {
			f := n.Fleet()
			if len(f) != 3 {
				return fmt.Errorf("%s sees %d members", n.cfg.Node, len(f))
			}
			for _, m := range f {
				w := want[m.Name]
				if m.Region != w[0] || m.Role != w[1] || m.State != StateAlive || m.Status == nil {
					return fmt.Errorf("%s sees %+v", n.cfg.Node, m)
				}
			}
			return nil
		})
	}
	if m, _ := member(c.Node, "east-proxy"); len(m.Status.Memcached) != 40 || m.Status.Proxy.Hits != 5 {
		t.Fatalf("large status did not arrive whole: %+v", m.Status)
	}

	c.queue.Store(42)
	for _, n := range []*testNode{a, b} {
		eventually(t, 5*time.Second, func() error {
			m, err := member(n.Node, "west-1")
			if err != nil {
				return err
			}
			if m.Status.QueueDepth != 42 {
				return fmt.Errorf("%s sees west-1 queue depth %d", n.cfg.Node, m.Status.QueueDepth)
			}
			return nil
		})
	}
	sums := summarize(a.Fleet(), a.thresholds())
	if len(sums) != 2 || sums[0].ActiveSidecar != "east-1" || sums[1].ActiveSidecar != "west-1" {
		t.Fatalf("summaries = %+v", sums)
	}
}

func TestCrashIsDeadAndGracefulStopIsLeft(t *testing.T) {
	a := startNode(t, "east", "a", "sidecar", nil, nil)
	b := startNode(t, "east", "b", "proxy", []string{a.GossipAddr()}, nil)
	c := startNode(t, "west", "c", "sidecar", []string{a.GossipAddr()}, nil)
	eventually(t, 10*time.Second, func() error {
		for _, n := range []*testNode{a, b, c} {
			if got := len(n.Fleet()); got != 3 {
				return fmt.Errorf("%s sees %d members", n.cfg.Node, got)
			}
		}
		return nil
	})

	c.Close() // no leave intent: a crash as far as the others can tell
	if err := c.wait(); err != nil {
		t.Fatalf("Run after Close: %v", err)
	}
	for _, n := range []*testNode{a, b} {
		eventually(t, 10*time.Second, func() error {
			m, err := member(n.Node, "c")
			if err != nil {
				return err
			}
			if m.State != StateDead {
				return fmt.Errorf("%s sees c %s", n.cfg.Node, m.State)
			}
			return nil
		})
	}
	if s := summarize(a.Fleet(), a.thresholds()); s[1].Region != "west" || s[1].Health != HealthBehind {
		t.Fatalf("west after its sidecar died: %+v", s[1])
	}

	b.cancel()
	if err := b.wait(); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	eventually(t, 5*time.Second, func() error {
		m, err := member(a.Node, "b")
		if err != nil {
			return err
		}
		if m.State != StateLeft {
			return fmt.Errorf("a sees b %s", m.State)
		}
		return nil
	})
}

func writeKey(t *testing.T, b byte) string {
	t.Helper()
	key := make([]byte, 32)
	for i := range key {
		key[i] = b
	}
	p := filepath.Join(t.TempDir(), "gossip.key")
	if err := os.WriteFile(p, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWrongKeyCannotJoin(t *testing.T) {
	good, bad := writeKey(t, 1), writeKey(t, 2)
	a := startNode(t, "east", "a", "sidecar", nil, func(c *Config) { c.KeyFile = good })
	b := startNode(t, "east", "b", "proxy", []string{a.GossipAddr()}, func(c *Config) { c.KeyFile = good })
	eventually(t, 10*time.Second, func() error {
		if got := len(a.Fleet()); got != 2 {
			return fmt.Errorf("a sees %d members", got)
		}
		return nil
	})

	cfg := DefaultConfig()
	cfg.Region, cfg.Node, cfg.Bind, cfg.HTTPListen, cfg.KeyFile = "west", "intruder", "127.0.0.1:0", "", bad
	cfg.Logger = zaptest.NewLogger(t)
	x, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := x.Listen(); err != nil {
		t.Fatal(err)
	}
	if _, err := x.ml.Load().Join([]string{a.GossipAddr()}); err == nil {
		t.Fatal("a node with the wrong key joined")
	}
	for _, n := range []*testNode{a, b} {
		if _, err := member(n.Node, "intruder"); err == nil {
			t.Fatalf("%s lists the intruder", n.cfg.Node)
		}
	}
	if got := len(x.Fleet()); got != 1 {
		t.Fatalf("intruder sees %d members", got)
	}
}

func TestBadConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("no region accepted")
	}
	if _, err := New(Config{Region: "r", Bind: "nope"}); err == nil {
		t.Error("bad bind accepted")
	}
	p := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(p, []byte(base64.StdEncoding.EncodeToString([]byte("short"))), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Region: "r", KeyFile: p}); err == nil {
		t.Error("5-byte key accepted")
	}
}

func TestRunLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var nodes []*Node
		var done []chan error
		for i := range 2 {
			cfg := DefaultConfig()
			cfg.Region, cfg.Node = "east", fmt.Sprintf("g%d", i)
			cfg.Bind, cfg.HTTPListen = "127.0.0.1:0", "127.0.0.1:0"
			cfg.StatusInterval, cfg.ProbeInterval, cfg.GossipInterval = 50*time.Millisecond, 100*time.Millisecond, 50*time.Millisecond
			if i > 0 {
				cfg.Join = []string{nodes[0].GossipAddr()}
			}
			n, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Listen(); err != nil {
				t.Fatal(err)
			}
			nodes = append(nodes, n)
			ch := make(chan error, 1)
			done = append(done, ch)
			go func() { ch <- n.Run(ctx) }()
		}
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		eventually(t, 10*time.Second, func() error {
			res, err := client.Get("http://" + nodes[1].HTTPAddr() + "/healthz")
			if err != nil {
				return err
			}
			res.Body.Close()
			if got := len(nodes[1].Fleet()); got != 2 {
				return fmt.Errorf("g1 sees %d members", got)
			}
			return nil
		})
		cancel()
		for i, ch := range done {
			if err := <-ch; err != nil {
				t.Errorf("g%d: %v", i, err)
			}
			nodes[i].Close()
			nodes[i].Close()
		}
	}()
	eventually(t, 10*time.Second, func() error {
		if now := runtime.NumGoroutine(); now > before {
			buf := make([]byte, 1<<16)
			return fmt.Errorf("%d goroutines, %d before:\n%s", now, before, buf[:runtime.Stack(buf, true)])
		}
		return nil
	})
}
