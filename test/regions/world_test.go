package regions

import (
	"context"
	"strconv"
	"testing"

	"github.com/cachesync/cachesync/test/fleet"
)

// startRegion starts a region's memcached, sidecar and proxy. replica is the
// DSN the sidecar gates on ("" = no gate: the region reads the primary, or
// the test switches the gate off); readDSN is where its readers fill from.
func startRegion(t *testing.T, name, source, replica, readDSN string, join []string) *fleet.Region {
	t.Helper()
	return fleet.StartRegion(t, fleet.RegionSpec{
		Name: name, Source: source, Replica: replica, ReadDSN: readDSN, Join: join,
		Tables: map[string][]string{"public.items": {"item:{id}"}},
	})
}

func itemValue(id, version int) string { return strconv.Itoa(id) + "|" + strconv.Itoa(version) }

var bg = context.Background()
