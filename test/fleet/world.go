package fleet

import (
	"testing"
	"time"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/test/cluster"
)

// RegionSpec describes one region of a multi-region test world: its own
// memcached, a `cachesync sidecar` and a `cachesync proxy`.
type RegionSpec struct {
	Name string
	// Source is the primary's DSN the sidecar streams from (a test may point
	// it at a cluster.TCPProxy to partition the region); Replica is the DSN the
	// sidecar's gate waits on ("" = no gate).
	Source, Replica string
	// ReadDSN is where the region's readers fill from.
	ReadDSN string
	// SidecarMemcached, when set, maps the region's memcached address to the
	// one the sidecar dials (a cluster.TCPProxy), so a test can cut the sidecar off
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
	MC        *cluster.Memcached
	Sidecar   *Sidecar
	Proxy     *cluster.Process
	ProxyAddr string // stable across RestartProxy
	ProxyHTTP string
}

// StartRegion starts a region's memcached, sidecar and proxy, and returns
// once both processes are ready.
func StartRegion(t testing.TB, spec RegionSpec) *Region {
	t.Helper()
	r := &Region{Spec: spec, MC: cluster.StartMemcached(t)}
	sidecarMC := r.MC.Addr()
	if spec.SidecarMemcached != nil {
		sidecarMC = spec.SidecarMemcached(sidecarMC)
	}
	r.Sidecar = StartSidecar(t, SidecarConfig{
		Region: spec.Name, Node: spec.Name + "-1", Source: spec.Source, Replica: spec.Replica,
		Servers: []string{sidecarMC}, StatusInterval: 100 * time.Millisecond, HeartbeatInterval: 200 * time.Millisecond,
		Join: spec.Join, Tables: spec.Tables, Values: spec.Values, Consistency: spec.Consistency,
	})
	r.ProxyAddr, r.ProxyHTTP = freeAddr(t), freeAddr(t)
	r.startProxy(t)
	return r
}

// startProxy runs the proxy straight on the region's memcached (not through
// any sidecar-side cluster.TCPProxy), on the region's fixed addresses.
func (r *Region) startProxy(t testing.TB) {
	t.Helper()
	r.Proxy = StartProxy(t, r.Spec.Name+"-proxy", r.ProxyAddr, r.ProxyHTTP, r.MC.Addr(),
		"--region", r.Spec.Name, "--node", r.Spec.Name+"-1", "--join", r.Sidecar.Config.ClusterBind)
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
func (r *Region) Slot() string { return config.DefaultSlot(r.Spec.Name) }
