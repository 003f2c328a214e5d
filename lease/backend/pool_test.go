package backend

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
)

// fakeServer answers each line "echo N" with "VA n\r\n<N>\r\n" and counts
// the reads it needed, to observe batching; "hang" never answers;
// "version" answers as memcached does (the pool's probe).
type fakeServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startFake(t *testing.T) *fakeServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{ln: ln}
	t.Cleanup(func() { ln.Close(); f.closeConns() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns = append(f.conns, c)
			f.mu.Unlock()
			go func() {
				r := bufio.NewReader(c)
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					l = strings.TrimSpace(l)
					if l == "hang" {
						continue
					}
					if l == "version" {
						fmt.Fprint(c, "VERSION fake\r\n")
						continue
					}
					v := strings.TrimPrefix(l, "echo ")
					fmt.Fprintf(c, "VA %d\r\n%s\r\n", len(v), v)
				}
			}()
		}
	}()
	return f
}

func (f *fakeServer) closeConns() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

func runPool(t *testing.T, cfg Config) *Pool {
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }()
	t.Cleanup(func() {
		_ = p.Close()
		_ = p.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	<-p.Ready()
	return p
}

func TestPipelinedRepliesMatchInOrder(t *testing.T) {
	f := startFake(t)
	cfg := DefaultConfig()
	cfg.Servers = []string{f.ln.Addr().String()}
	p := runPool(t, cfg)
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			op := NewOp()
			op.Kind = ReplyMeta
			for i := range 200 {
				want := fmt.Sprintf("%d-%d", g, i)
				op.Req = []byte("echo " + want + "\r\n")
				p.Do(0, op)
				if err := op.Wait(); err != nil {
					t.Error(err)
					return
				}
				if string(op.Body()) != want || !strings.HasPrefix(string(op.Header()), "VA ") {
					t.Errorf("got %q / %q, want %q", op.Header(), op.Body(), want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestTimeoutFailsOpAndReconnects(t *testing.T) {
	f := startFake(t)
	cfg := DefaultConfig()
	cfg.Servers = []string{f.ln.Addr().String()}
	cfg.Timeout = 100 * time.Millisecond
	cfg.ConnsPerServer = 1
	p := runPool(t, cfg)
	op := NewOp()
	op.Kind = ReplyMeta
	op.Req = []byte("hang\r\n")
	p.Do(0, op)
	if err := op.Wait(); err == nil {
		t.Fatal("no error for an unanswered request")
	}
	cluster.Eventually(t, 5*time.Second, func() error {
		op.Req = []byte("echo ok\r\n")
		p.Do(0, op)
		if err := op.Wait(); err != nil {
			return err
		}
		if string(op.Body()) != "ok" {
			return fmt.Errorf("%q", op.Body())
		}
		return nil
	})
}

func TestDownServerFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: dials are refused
	cfg := DefaultConfig()
	cfg.Servers = []string{addr}
	cfg.Timeout = time.Minute // a reply before this can only be the fast path
	p := runPool(t, cfg)
	if st := p.ServersUp(); st[0].Up {
		t.Fatalf("%+v", st)
	}
	op := NewOp()
	op.Req = []byte("echo x\r\n")
	p.Do(0, op)
	if err := op.Wait(); !errors.Is(err, ErrServerDown) {
		t.Fatalf("got %v", err)
	}
	if p.Errors() != 1 {
		t.Fatalf("errors %d", p.Errors())
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("no error without servers")
	}
}

// TestStoppedServerStaysDown freezes a real memcached (SIGSTOP): its
// kernel still accepts connections, so only the version probe keeps the
// pool from marking it up on every redial. OnChange hears both changes.
func TestStoppedServerStaysDown(t *testing.T) {
	mc := cluster.StartMemcached(t)
	changes := make(chan bool, 100)
	cfg := DefaultConfig()
	cfg.Servers = []string{mc.Addr()}
	cfg.Timeout = 200 * time.Millisecond
	cfg.ProbeInterval = 10 * time.Millisecond
	cfg.OnChange = func(i int, up bool) {
		if i != 0 {
			t.Errorf("OnChange(%d)", i)
		}
		changes <- up
	}
	p := runPool(t, cfg)
	if up := <-changes; !up || !p.ServersUp()[0].Up {
		t.Fatal("not up at start")
	}
	mc.Pause(t)
	t.Cleanup(func() { mc.Resume(t) })
	op := NewOp()
	op.Kind = ReplyLine
	op.Req = []byte("version\r\n")
	p.Do(0, op)
	if err := op.Wait(); err == nil {
		t.Fatal("a stopped server answered")
	}
	if up := <-changes; up {
		t.Fatal("OnChange said up after the timeout")
	}
	// Several probe rounds: each dial succeeds (the backlog), none may count.
	if err := cluster.Poll(5*cfg.Timeout, func() error {
		if p.ServersUp()[0].Up {
			return nil
		}
		return errors.New("down")
	}); err == nil {
		t.Fatal("a stopped server was marked up again")
	}
	select {
	case up := <-changes:
		t.Fatalf("OnChange(%v) while stopped", up)
	default:
	}
	mc.Resume(t)
	if up := <-changes; !up {
		t.Fatal("OnChange said down after SIGCONT")
	}
	p.Do(0, op)
	if err := op.Wait(); err != nil || !strings.HasPrefix(string(op.Reply), "VERSION ") {
		t.Fatalf("after SIGCONT: %q %v", op.Reply, err)
	}
}
