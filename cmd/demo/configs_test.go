package demo

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cachesync/cachesync/cmd/config"
)

// Every node but the seed (east's sidecar) joins the seed, proxies
// included: a proxy that joins nobody never shows on the dashboard. West
// reads and gates on the replica; every file loads as its role.
func TestPlanRegionsJoinsEveryNodeToOneFleet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ep := endpoints{primaries: []string{"postgres://postgres@127.0.0.1:1/app"}, replicas: []string{"postgres://postgres@127.0.0.1:2/app"},
		mcEast: "127.0.0.1:3", mcWest: "127.0.0.1:4"}
	regions, err := planRegions(ep, dir, "127.0.0.1:5")
	if err != nil {
		t.Fatal(err)
	}
	if len(regions) != 2 || regions[0].name != "east" || regions[1].name != "west" {
		t.Fatalf("regions = %v", regions)
	}
	east, west := regions[0], regions[1]
	seed := east.sidecar.Cluster.Bind
	if len(east.sidecar.Cluster.Join) != 0 {
		t.Errorf("the seed joins %v", east.sidecar.Cluster.Join)
	}
	for _, n := range []config.Config{east.proxy, west.sidecar, west.proxy} {
		if !slices.Equal(n.Cluster.Join, config.List{seed}) {
			t.Errorf("%s's node %s joins %v, want the seed %s", n.Region, n.Node, n.Cluster.Join, seed)
		}
		if n.Cluster.Bind == seed {
			t.Errorf("%s's node %s binds the seed's address", n.Region, n.Node)
		}
	}
	if east.sidecar.HTTP.Listen != "127.0.0.1:5" || !slices.Equal(east.readDSNs, ep.primaries) || east.sidecar.Postgres[0].Replica != "" {
		t.Errorf("east = %+v", east)
	}
	if src := west.sidecar.Postgres[0]; src.Replica != ep.replicas[0] || !slices.Equal(west.readDSNs, ep.replicas) || src.Source != ep.primaries[0] || src.Name != "" {
		t.Errorf("west source = %+v, reads %v", src, west.readDSNs)
	}
	if !slices.Equal(west.sidecar.Memcache.Servers, config.List{ep.mcWest}) || west.proxy.Proxy.Listen != west.proxyAddr {
		t.Errorf("west memcache %v proxy %s", west.sidecar.Memcache.Servers, west.proxy.Proxy.Listen)
	}
	for _, name := range []string{"east-sidecar.yaml", "east-proxy.yaml", "west-sidecar.yaml", "west-proxy.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("config file: %v", err)
		}
	}
}

// With shards, each region's sidecar has a named source per primary, west's
// gated on that primary's replica.
func TestPlanRegionsShards(t *testing.T) {
	t.Parallel()
	ep := endpoints{primaries: []string{"postgres://postgres@127.0.0.1:1/app", "postgres://postgres@127.0.0.1:2/app"},
		replicas: []string{"postgres://postgres@127.0.0.1:3/app", "postgres://postgres@127.0.0.1:4/app"},
		mcEast:   "127.0.0.1:5", mcWest: "127.0.0.1:6"}
	regions, err := planRegions(ep, t.TempDir(), "127.0.0.1:7")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range regions {
		srcs := r.sidecar.Postgres
		if len(srcs) != 2 || srcs[0].Name != "shard1" || srcs[1].Name != "shard2" {
			t.Fatalf("%s sources = %+v", r.name, srcs)
		}
		for k, src := range srcs {
			wantReplica := ""
			if r.name == "west" {
				wantReplica = ep.replicas[k]
			}
			if src.Source != ep.primaries[k] || src.Replica != wantReplica || r.readDSNs[k] != src.ReadDSN() {
				t.Errorf("%s %s = %+v, reads %s", r.name, src.Name, src, r.readDSNs[k])
			}
		}
	}
}
