package faults

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/lease/route"
	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

const (
	gutterStop    = 20 * time.Second
	stoppedServer = 1 // of gutterRegion.pool
)

// gutterRegion is a third region, started only for the scenario that needs
// it: three memcached servers and a gutter server, a sidecar streaming from
// the primary (no replica gate, as east) and a proxy routing a server's keys
// to the gutter while that server is out.
type gutterRegion struct {
	*fleet.Region
	pool   []*cluster.Memcached
	gutter *cluster.Memcached
	router *route.Router
}

func startGutterRegion(t *testing.T, w *world) *gutterRegion {
	t.Helper()
	const name = "north"
	g := &gutterRegion{}
	var addrs []string
	for range 3 {
		m := cluster.StartMemcached(t)
		g.pool, addrs = append(g.pool, m), append(addrs, m.Addr())
	}
	g.gutter = cluster.StartMemcached(t)
	gutter := []string{g.gutter.Addr()}
	r, err := route.New(route.Config{Servers: addrs, Gutter: gutter})
	if err != nil {
		t.Fatal(err)
	}
	g.router = r
	// Registered first, so it runs last: once the sidecar is gone, its
	// slot must not hold the primary's WAL for the rest of the suite.
	t.Cleanup(func() {
		w.pg.WaitSlotInactive(t, "app", "cachesync_"+name, 30*time.Second)
		w.pg.ExecDB(t, "app", "SELECT pg_drop_replication_slot($1)", "cachesync_"+name)
	})
	spec := fleet.RegionSpec{Name: name, Source: w.pg.DSN("app"), ReadDSN: w.pg.DSN("app"), Tables: tables,
		Values: values, Consistency: monitorConfig, Join: []string{w.east.Sidecar.Config.ClusterBind}}
	sc := fleet.StartSidecar(t, fleet.SidecarConfig{
		Region: name, Node: name + "-1", Source: spec.Source, Servers: addrs, Gutter: gutter,
		StatusInterval: 100 * time.Millisecond, HeartbeatInterval: 200 * time.Millisecond,
		Join: spec.Join, Tables: tables, Values: values, Consistency: monitorConfig,
	})
	g.Region = &fleet.Region{Spec: spec, MC: g.pool[0], Sidecar: sc,
		ProxyAddr: fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(t)), ProxyHTTP: fmt.Sprintf("127.0.0.1:%d", cluster.FreePort(t))}
	g.Proxy = fleet.StartProxy(t, name+"-proxy", g.ProxyAddr, g.ProxyHTTP, strings.Join(addrs, ","),
		"--gutter", gutter[0], "--region", name, "--node", name+"-1", "--join", sc.Config.ClusterBind)
	return g
}

// useGutterRegion runs the scenario on the gutter region alone, its
// watched keys split by whether the stopped server owns them.
func (w *world) useGutterRegion(t *testing.T) {
	g := startGutterRegion(t, w)
	saved := w.regions
	w.regions, w.gutter = []*fleet.Region{g.Region}, g
	w.groups = map[string][]keyGroup{g.Spec.Name: {
		{name: "live", keep: func(k string) bool { return g.router.Owner(k) != stoppedServer }},
		{name: "stopped", keep: func(k string) bool { return g.router.Owner(k) == stoppedServer }},
	}}
	t.Cleanup(func() { w.regions, w.gutter, w.groups = saved, nil, nil })
}

// pools are the server sets of region r the checker reads: its pool, and
// its gutter, which the sidecar invalidates too.
func (w *world) pools(r *fleet.Region) [][]string {
	g := w.gutter
	if g == nil || g.Region != r {
		return [][]string{{r.MC.Addr()}}
	}
	var addrs []string
	for _, m := range g.pool {
		addrs = append(addrs, m.Addr())
	}
	return [][]string{addrs, {g.gutter.Addr()}}
}

// stopOneOfThree SIGSTOPs one of the gutter region's servers for
// gutterStop while the load runs. Keys on the live servers must keep being
// invalidated at their usual pace: the stopped server holds only its own.
func stopOneOfThree(t *testing.T, w *world) string {
	g, l := w.gutter, w.load
	stopped := g.pool[stoppedServer]
	reads0, gutter0 := l.fills["stopped"].Load(), proxyStat(t, g.ProxyAddr, "proxy_gutter_keys")
	stopped.Pause(t)
	pause(nil, gutterStop)
	reads, gutter := l.fills["stopped"].Load()-reads0, proxyStat(t, g.ProxyAddr, "proxy_gutter_keys")-gutter0
	// Judged before the server returns: a held invalidation shows as a
	// sample still pending, as old as the stop.
	lw := l.watcher("live")
	live, oldest := lw.st.Summary(), lw.oldestPending(time.Now())
	stopped.Resume(t)
	if live.N == 0 || live.P99 > gutterStop/4 || oldest > gutterStop/4 {
		t.Errorf("keys on the live servers while one server was stopped %s: staleness %s, oldest still stale %s", gutterStop, live, oldest)
	}
	return fmt.Sprintf("north: 1 of 3 memcached servers SIGSTOPped for %s; its keys: %d routed to the gutter, %.1f database reads/s",
		gutterStop, gutter, float64(reads)/gutterStop.Seconds())
}

// proxyStat reads one counter of a proxy's "stats".
func proxyStat(t *testing.T, addr, name string) int64 {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("stats\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	var v int64 = -1
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stats from %s: %v", addr, err)
		}
		l = strings.TrimSpace(l)
		if l == "END" {
			break
		}
		if n, ok := strings.CutPrefix(l, "STAT "+name+" "); ok {
			v, _ = strconv.ParseInt(n, 10, 64)
		}
	}
	if v < 0 {
		t.Fatalf("proxy %s has no stat %s", addr, name)
	}
	return v
}
