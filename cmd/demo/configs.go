package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cachesync/cachesync/cmd/config"
	"github.com/cachesync/cachesync/cmd/local"
)

// regionSetup is one region of the demo: where its app reads from, and the
// config files its sidecar and proxy run with.
type regionSetup struct {
	name string
	// readDSNs are the databases the region's app reads (and fills from),
	// one per shard: the primaries in east, their replicas in west.
	readDSNs  []string
	proxyAddr string
	httpAddr  string // the sidecar's dashboard
	sidecar   config.Config
	proxy     config.Config
}

// staleTTL is how long a value marked stale by an invalidation may still
// be served to the losers of a hot key.
const staleTTL = 30 * time.Second

// planRegions picks the ports and writes the config files of both regions:
// east reads the primaries, west their replicas; each sidecar has a source
// per primary (named shard1, shard2, ... when there are several). East's sidecar is the seed of
// the fleet: every other node, both proxies included, joins it.
func planRegions(srv endpoints, dir, eastHTTP string) ([]*regionSetup, error) {
	seed, err := local.FreeAddr()
	if err != nil {
		return nil, err
	}
	var regions []*regionSetup
	for _, name := range []string{"east", "west"} {
		r := &regionSetup{name: name, httpAddr: eastHTTP}
		west := name == "west"
		var sources config.Sources
		for k, primary := range srv.primaries {
			src := config.DefaultSource()
			src.Source = primary
			if west {
				src.Replica = srv.replicas[k]
			}
			if len(srv.primaries) > 1 {
				src.Name = fmt.Sprintf("shard%d", k+1)
			}
			sources = append(sources, src)
			r.readDSNs = append(r.readDSNs, src.ReadDSN())
		}
		mc, sidecarBind := srv.mcEast, seed
		if west {
			mc = srv.mcWest
			if sidecarBind, err = local.FreeAddr(); err != nil {
				return nil, err
			}
			if r.httpAddr, err = local.FreeAddr(); err != nil {
				return nil, err
			}
		}
		proxyBind, err := local.FreeAddr()
		if err != nil {
			return nil, err
		}
		if r.proxyAddr, err = local.FreeAddr(); err != nil {
			return nil, err
		}
		file := nodeFile(name, sources, mc, r.proxyAddr)
		var join config.List
		if sidecarBind != seed {
			join = config.List{seed}
		}
		if r.sidecar, err = writeConfig(dir, name+"-sidecar.yaml", file, sidecarBind, join, r.httpAddr, config.RoleSidecar); err != nil {
			return nil, err
		}
		// The proxy serves no HTTP of its own: its figures reach the
		// dashboard through the fleet.
		if r.proxy, err = writeConfig(dir, name+"-proxy.yaml", file, proxyBind, config.List{seed}, "", config.RoleProxy); err != nil {
			return nil, err
		}
		regions = append(regions, r)
	}
	return regions, nil
}

// nodeFile is what a region's two nodes share.
func nodeFile(name string, sources config.Sources, memcached, proxyListen string) config.Config {
	c := config.Default()
	c.Region, c.Node = name, name+"-1"
	c.Postgres = sources
	c.Memcache.Servers = config.List{memcached}
	c.Memcache.Invalidate = "stale"
	c.Memcache.StaleTTL = config.Duration(staleTTL)
	c.Tables = map[string]config.Table{itemsTable: {Keys: itemKeys, Value: itemValue}}
	c.Proxy.Listen = proxyListen
	// Sample more than a production default would: the demo writes ~240
	// keys/s, and its nines should be measured within a minute.
	c.Consistency.Sample, c.Consistency.After = demoSample, config.Duration(demoAfter)
	return c
}

// demoSample and demoAfter are the demo's consistency monitor settings.
const (
	demoSample = 0.1
	demoAfter  = 5 * time.Second
)

// writeConfig writes one node's file into dir and loads it back through
// config.Load, as `cachesync <role> --config` does, so the demo runs exactly
// what the file says (and the file can be copied).
func writeConfig(dir, name string, c config.Config, bind string, join config.List, httpListen string, role config.Role) (config.Config, error) {
	c.Cluster.Bind, c.Cluster.Join, c.HTTP.Listen = bind, join, httpListen
	data, err := config.Marshal(c)
	if err != nil {
		return config.Config{}, err
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, append([]byte("# written by cachesync demo\n"), data...), 0o644); err != nil {
		return config.Config{}, fmt.Errorf("write %s: %w", path, err)
	}
	return config.Load(path, role)
}
