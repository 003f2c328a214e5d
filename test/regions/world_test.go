package regions

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/region"
	"github.com/cachesync/cachesync/test/cluster"
)

// regionNode is one region's memcached, sidecar and proxy.
type regionNode struct {
	name      string
	mc        *cluster.Memcached
	sidecar   *cluster.Sidecar
	proxy     *cluster.Process
	proxyHTTP string
	readDSN   string // where this region's readers fill from
}

// startRegion starts a region's memcached, sidecar and proxy. replica is the
// DSN the sidecar gates on ("" = no gate: the region reads the primary, or
// the test switches the gate off); readDSN is where its readers fill from.
func startRegion(t *testing.T, name, source, replica, readDSN string, join []string) *regionNode {
	t.Helper()
	r := &regionNode{name: name, mc: cluster.StartMemcached(t), readDSN: readDSN}
	r.sidecar = cluster.StartSidecar(t, cluster.SidecarConfig{
		Region: name, Node: name + "-1", Source: source, Replica: replica,
		Servers: []string{r.mc.Addr()}, StatusInterval: 100 * time.Millisecond,
		HeartbeatInterval: 200 * time.Millisecond, Join: join,
		Tables: map[string][]string{"public.items": {"item:{id}"}},
	})
	r.proxyHTTP = fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(t))
	r.proxy = cluster.StartProcess(t, name+"-proxy", cluster.Binary(t), "proxy", "--config", r.sidecar.ConfigPath,
		"--bind", fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(t)), "--http", r.proxyHTTP,
		"--join", r.sidecar.Config.ClusterBind)
	cluster.Eventually(t, 30*time.Second, func() error { return ready(r.proxyHTTP) })
	return r
}

func ready(addr string) error {
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s not ready: %d %s", addr, resp.StatusCode, b)
	}
	return nil
}

// apiStatus is the part of /api/status these tests read.
type apiStatus struct {
	Node  region.NodeStatus `json:"node"`
	Fleet []region.Member   `json:"fleet"`
}

func getStatus(addr string) (apiStatus, error) {
	var st apiStatus
	resp, err := http.Get("http://" + addr + "/api/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// classicGet reads key through a proxy with a classic get, which the proxy
// answers as a miss for a stale item: what a classic client would see.
func classicGet(addr, key string) (string, bool, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", false, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "get %s\r\n", key)
	buf := make([]byte, 0, 256)
	tmp := make([]byte, 256)
	for !strings.HasSuffix(string(buf), "END\r\n") {
		n, err := c.Read(tmp)
		if err != nil {
			return "", false, fmt.Errorf("get %s: %w (read %q)", key, err, buf)
		}
		buf = append(buf, tmp[:n]...)
	}
	s := string(buf)
	if s == "END\r\n" {
		return "", false, nil
	}
	lines := strings.Split(s, "\r\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "VALUE ") {
		return "", false, fmt.Errorf("get %s: unexpected reply %q", key, s)
	}
	return lines[1], true, nil
}

// confirmedPast polls until the slot has confirmed at least lsn.
func confirmedPast(t *testing.T, pg *cluster.Postgres, slot, lsn string) {
	t.Helper()
	cluster.Eventually(t, 60*time.Second, func() error {
		ok := pg.QueryString(t, "app", "SELECT COALESCE(confirmed_flush_lsn >= $1::pg_lsn, false)::text FROM pg_replication_slots WHERE slot_name = $2", lsn, slot)
		if ok != "true" {
			return fmt.Errorf("slot %s has not confirmed %s yet", slot, lsn)
		}
		return nil
	})
}

func itemValue(id, version int) string { return strconv.Itoa(id) + "|" + strconv.Itoa(version) }

var bg = context.Background()
