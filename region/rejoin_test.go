package region

import (
	"fmt"
	"net"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestJoinRetriesUntilPeerUpAndLogsOnce(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t))
	core, logs := observer.New(zap.InfoLevel)
	b := startNode(t, "west", "b", "sidecar", []string{addr}, func(c *Config) { c.Logger = zap.New(core) })
	eventually(t, 5*time.Second, func() error {
		if logs.FilterMessage("cannot join cluster, retrying").Len() == 0 {
			return fmt.Errorf("no join failure logged yet")
		}
		return nil
	})
	a := startNode(t, "east", "a", "sidecar", nil, func(c *Config) { c.Bind = addr })
	eventually(t, 15*time.Second, func() error {
		if _, err := member(b.Node, "a"); err != nil {
			return err
		}
		if _, err := member(a.Node, "b"); err != nil {
			return err
		}
		return nil
	})
	if n := logs.FilterMessage("cannot join cluster, retrying").Len(); n != 1 {
		t.Errorf("join failure logged %d times, want once", n)
	}
	eventually(t, 5*time.Second, func() error {
		if n := logs.FilterMessage("joined cluster").Len(); n != 1 {
			return fmt.Errorf("joined logged %d times, want once", n)
		}
		return nil
	})
}

func TestCrashedNodeRestartsAlive(t *testing.T) {
	a := startNode(t, "east", "a", "sidecar", nil, nil)
	c := startNode(t, "west", "c", "sidecar", []string{a.GossipAddr()}, nil)
	eventually(t, 10*time.Second, func() error {
		if m, err := member(a.Node, "c"); err != nil || m.Status == nil {
			return fmt.Errorf("a does not see c's status yet (%v)", err)
		}
		return nil
	})
	addr := c.GossipAddr()
	c.Close()
	if err := c.wait(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		if m, _ := member(a.Node, "c"); m.State != StateDead {
			return fmt.Errorf("c is %s", m.State)
		}
		return nil
	})
	c2 := startNode(t, "west", "c", "sidecar", []string{a.GossipAddr()}, func(cfg *Config) { cfg.Bind = addr })
	c2.queue.Store(9)
	eventually(t, 10*time.Second, func() error {
		m, err := member(a.Node, "c")
		if err != nil {
			return err
		}
		if m.State != StateAlive || m.Status == nil || m.Status.QueueDepth != 9 {
			return fmt.Errorf("c restarted but a sees %s %+v", m.State, m.Status)
		}
		return nil
	})
}
