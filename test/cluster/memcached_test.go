package cluster

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// mcCmd sends one request on a fresh connection and returns the first line.
func mcCmd(addr, req string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func TestMemcachedRestartIsEmptyOnSamePort(t *testing.T) {
	t.Parallel()
	mc := StartMemcached(t, WithItemSize("2m"), WithMemoryMB(16))
	if got, err := mcCmd(mc.Addr(), "set k 0 0 1\r\nx\r\n"); err != nil || got != "STORED" {
		t.Fatalf("set = %q, %v", got, err)
	}
	if got, err := mcCmd(mc.Addr(), "get k\r\n"); err != nil || got != "VALUE k 0 1" {
		t.Fatalf("get = %q, %v", got, err)
	}
	port := mc.Port()

	mc.Kill(t)
	if _, err := mcCmd(mc.Addr(), "version\r\n"); err == nil {
		t.Fatal("killed memcached still answers")
	}
	mc.Restart(t)
	if mc.Port() != port {
		t.Fatalf("port changed: %d -> %d", port, mc.Port())
	}
	if got, err := mcCmd(mc.Addr(), "get k\r\n"); err != nil || got != "END" {
		t.Fatalf("get after restart = %q, %v; want END (empty cache)", got, err)
	}
	if !strings.Contains(mcStat(t, mc.Addr(), "stats settings", "item_size_max"), "2097152") {
		t.Fatal("WithItemSize(2m) not applied")
	}
}

func mcStat(t *testing.T, addr, req, name string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(c, "%s\r\n", req)
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: %v", req, err)
		}
		if strings.HasPrefix(line, "END") {
			return ""
		}
		if f := strings.Fields(line); len(f) == 3 && f[1] == name {
			return f[2]
		}
	}
}

func TestTCPProxyCutAndHeal(t *testing.T) {
	t.Parallel()
	mc := StartMemcached(t)
	x := NewTCPProxy(t, mc.Addr())
	if got, err := mcCmd(x.Addr(), "version\r\n"); err != nil || !strings.HasPrefix(got, "VERSION") {
		t.Fatalf("through proxy: %q, %v", got, err)
	}

	open, err := net.Dial("tcp", x.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	r := bufio.NewReader(open)
	fmt.Fprint(open, "version\r\n")
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatalf("open conn before cut: %v", err)
	}

	x.Cut()
	_ = open.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(open, "version\r\n")
	if line, err := r.ReadString('\n'); err == nil {
		t.Fatalf("open connection survived Cut: read %q", line)
	}
	if _, err := mcCmd(x.Addr(), "version\r\n"); err == nil {
		t.Fatal("new connection succeeded while cut")
	}

	x.Heal()
	Eventually(t, 5*time.Second, func() error {
		_, err := mcCmd(x.Addr(), "version\r\n")
		return err
	})
	x.Close()
	x.Close()
}
