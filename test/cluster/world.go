package cluster

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/cmd/local"
)

// RegionSpec describes one region of a multi-region test world: its own
// memcached, a `cachesync sidecar` and a `cachesync proxy`.
type RegionSpec struct {
	Name string
	// Source is the primary's DSN the sidecar streams from (a test may point
	// it at a TCPProxy to partition the region); Replica is the DSN the
	// sidecar's gate waits on ("" = no gate).
	Source, Replica string
	// ReadDSN is where the region's readers fill from.
	ReadDSN string
	// SidecarMemcached, when set, maps the region's memcached address to the
	// one the sidecar dials (a TCPProxy), so a test can cut the sidecar off
	// memcached while readers still reach it.
	SidecarMemcached func(real string) string
	Join             []string
	Tables           map[string][]string
	// Values and Consistency go to the sidecar's config as they are.
	Values      map[string]string
	Consistency *ConsistencyConfig
}

// Region is a running region.
type Region struct {
	Spec      RegionSpec
	MC        *Memcached
	Sidecar   *Sidecar
	Proxy     *Process
	ProxyAddr string // stable across RestartProxy
	ProxyHTTP string
}

// StartRegion starts a region's memcached, sidecar and proxy, and returns
// once both processes are ready.
func StartRegion(t testing.TB, spec RegionSpec) *Region {
	t.Helper()
	r := &Region{Spec: spec, MC: StartMemcached(t)}
	sidecarMC := r.MC.Addr()
	if spec.SidecarMemcached != nil {
		sidecarMC = spec.SidecarMemcached(sidecarMC)
	}
	r.Sidecar = StartSidecar(t, SidecarConfig{
		Region: spec.Name, Node: spec.Name + "-1", Source: spec.Source, Replica: spec.Replica,
		Servers: []string{sidecarMC}, StatusInterval: 100 * time.Millisecond, HeartbeatInterval: 200 * time.Millisecond,
		Join: spec.Join, Tables: spec.Tables, Values: spec.Values, Consistency: spec.Consistency,
	})
	r.ProxyAddr = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	r.ProxyHTTP = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	r.startProxy(t)
	return r
}

// startProxy runs the proxy straight on the region's memcached (not through
// any sidecar-side TCPProxy), on the region's fixed addresses.
func (r *Region) startProxy(t testing.TB) {
	t.Helper()
	r.Proxy = StartProxy(t, r.Spec.Name+"-proxy", r.ProxyAddr, r.ProxyHTTP, r.MC.Addr(),
		"--region", r.Spec.Name, "--node", r.Spec.Name+"-1", "--join", r.Sidecar.Config.ClusterBind)
}

// proxyReadyTimeout bounds a proxy's start: it only needs its backends.
const proxyReadyTimeout = 30 * time.Second

// StartProxy runs `cachesync proxy` serving listen, with its HTTP endpoints
// on httpAddr, on the memcached servers backends (host:port,host:port) and
// the extra arguments, and waits until its /readyz says ready. It is killed
// at t.Cleanup.
func StartProxy(t TB, name, listen, httpAddr, backends string, extra ...string) *Process {
	t.Helper()
	args := append([]string{"proxy", "--listen", listen, "--backends", backends, "--http", httpAddr}, extra...)
	p := StartProcess(t, name, Binary(t), args...)
	p.waitReady(t, proxyReadyTimeout, "proxy", func() error { return local.Readyz(httpAddr) })
	return p
}

// RestartProxy SIGKILLs the proxy and starts a new one on the same address.
func (r *Region) RestartProxy(t testing.TB) {
	t.Helper()
	r.Proxy.Kill()
	r.startProxy(t)
}

// RestartSidecar SIGKILLs the sidecar and starts it again from the same
// config, without waiting for it to be ready (Sidecar.WaitReady does).
func (r *Region) RestartSidecar(t testing.TB) {
	t.Helper()
	r.Sidecar.Kill()
	r.Sidecar = r.Sidecar.Relaunch(t)
}

// Slot is the region's replication slot name (the binary's default).
func (r *Region) Slot() string { return "cachesync_" + r.Spec.Name }

// ClassicGet reads key through a proxy with a classic get, which the proxy
// answers as a miss for a stale item: what a classic client would see.
func ClassicGet(addr, key string) (value string, ok bool, err error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", false, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	vals, err := ClassicGetMulti(bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c)), key)
	if err != nil {
		return "", false, err
	}
	v, ok := vals[key]
	return v, ok, nil
}

// ClassicGetMulti sends one `get k1 k2 …` on rw and returns the hits.
func ClassicGetMulti(rw *bufio.ReadWriter, keys ...string) (map[string]string, error) {
	fmt.Fprintf(rw, "get %s\r\n", strings.Join(keys, " "))
	if err := rw.Flush(); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	out := map[string]string{}
	for {
		line, err := rw.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("get: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "END" {
			return out, nil
		}
		var key string
		var flags, size int
		if _, err := fmt.Sscanf(line, "VALUE %s %d %d", &key, &flags, &size); err != nil {
			return nil, fmt.Errorf("get: unexpected reply %q", line)
		}
		data := make([]byte, size+2)
		if _, err := io.ReadFull(rw, data); err != nil {
			return nil, fmt.Errorf("get %s: %w", key, err)
		}
		out[key] = string(data[:size])
	}
}

// WaitConfirmed polls until slot on p has confirmed at least lsn.
func (p *Postgres) WaitConfirmed(t testing.TB, db, slot, lsn string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error {
		ok, err := p.queryString(db, "SELECT COALESCE(confirmed_flush_lsn >= $1::pg_lsn, false)::text FROM pg_replication_slots WHERE slot_name = $2", lsn, slot)
		if err != nil {
			return err
		}
		if ok != "true" {
			return fmt.Errorf("slot %s has not confirmed %s yet", slot, lsn)
		}
		return nil
	})
}

// WaitSlotInactive polls until no walsender serves slot on p, so that its
// confirmed LSN can no longer move. A missing slot counts as not inactive.
func (p *Postgres) WaitSlotInactive(t TB, db, slot string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error {
		active, err := p.queryString(db, "SELECT coalesce((SELECT active::text FROM pg_replication_slots WHERE slot_name = $1), 'missing')", slot)
		if err != nil {
			return err
		}
		if active != "false" {
			return fmt.Errorf("slot %s active = %s", slot, active)
		}
		return nil
	})
}

// InsertLSN is the primary p's current WAL insert position ("now"): at or
// after the end of every transaction that has committed.
func (p *Postgres) InsertLSN(t TB, db string) string {
	t.Helper()
	return p.QueryString(t, db, "SELECT pg_current_wal_insert_lsn()::text")
}

// WaitReplayed polls until the replica p has replayed lsn.
func (p *Postgres) WaitReplayed(t testing.TB, db, lsn string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error {
		ok, err := p.queryString(db, "SELECT (pg_last_wal_replay_lsn() >= $1::pg_lsn)::text", lsn)
		if err != nil {
			return err
		}
		if ok != "true" {
			return fmt.Errorf("replica has not replayed %s", lsn)
		}
		return nil
	})
}

// SetPrimaryAddr points a replica's streaming connection at addr (for
// example a TCPProxy in front of the primary). primary_conninfo is
// reloadable on PostgreSQL 15: the WAL receiver restarts with it.
func (p *Postgres) SetPrimaryAddr(t testing.TB, addr string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("set primary addr: %v", err)
	}
	p.Exec(t, fmt.Sprintf("ALTER SYSTEM SET primary_conninfo = 'host=%s port=%s user=postgres'", host, port))
	p.Exec(t, "SELECT pg_reload_conf()")
}
