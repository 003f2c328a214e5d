package ring

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
)

// TestKetamaMatchesNutcracker stores keys through a real twemproxy
// configured with ketama + md5 and reads each back directly from the server
// the ring picks (and checks the other server does not have it).
func TestKetamaMatchesNutcracker(t *testing.T) {
	mcs := []*cluster.Memcached{cluster.StartMemcached(t), cluster.StartMemcached(t)}
	servers := []string{mcs[0].Addr(), mcs[1].Addr()}
	port := cluster.FreePort(t)
	conf := fmt.Sprintf(`pool:
  listen: 127.0.0.1:%d
  hash: md5
  distribution: ketama
  auto_eject_hosts: false
  servers:
   - %s:1
   - %s:1
`, port, servers[0], servers[1])
	dir := t.TempDir()
	path := filepath.Join(dir, "nutcracker.yml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cluster.StartProcess(t, "nutcracker", "/usr/sbin/nutcracker", "-c", path, "-s", fmt.Sprint(cluster.FreePort(t)))
	tw := fmt.Sprintf("127.0.0.1:%d", port)
	var nc net.Conn
	cluster.Eventually(t, 10*time.Second, func() error {
		var err error
		nc, err = net.Dial("tcp", tw)
		return err
	})
	defer nc.Close()
	r := bufio.NewReader(nc)
	const keys = 2000
	var req strings.Builder
	for i := range keys {
		fmt.Fprintf(&req, "set nk:%d 0 0 1\r\nx\r\n", i)
	}
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	go func() { _, _ = nc.Write([]byte(req.String())) }()
	for i := range keys {
		if l, err := r.ReadString('\n'); err != nil || l != "STORED\r\n" {
			t.Fatalf("set nk:%d via nutcracker: %q %v", i, l, err)
		}
	}
	rg, err := New(KindKetama, servers)
	if err != nil {
		t.Fatal(err)
	}
	direct := make([]*bufio.ReadWriter, 2)
	for i, s := range servers {
		c, err := net.Dial("tcp", s)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		direct[i] = bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))
	}
	counts := [2]int{}
	for i := range keys {
		key := fmt.Sprintf("nk:%d", i)
		want := rg.Pick(key)
		counts[want]++
		for s, rw := range direct {
			fmt.Fprintf(rw, "mg %s\r\n", key)
			_ = rw.Flush()
			l, err := rw.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			has := l == "HD\r\n"
			if has != (s == want) {
				t.Fatalf("key %s: ring says server %d, but server %d has it=%v", key, want, s, has)
			}
		}
	}
	if counts[0] == 0 || counts[1] == 0 {
		t.Fatalf("all keys on one server: %v", counts)
	}
}
