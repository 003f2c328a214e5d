package faults

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cachesync/cachesync/invalidator/audit"
	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

const (
	itemRows = 200 // readers and writers use the first hotRows
	hotRows  = 50
	bulkRows = 20000
)

var tables = map[string][]string{"public.items": {"item:{id}"}, "public.bulk": {"bulk:{id}"}}

// world is the primary, its replica, and the two regions, with fault
// points: west's sidecar and the replica reach the primary through
// TCPProxies, and each sidecar reaches its memcached through one.
type world struct {
	pg, replica      *cluster.Postgres
	east, west       *fleet.Region
	westToPrimary    *cluster.TCPProxy // west sidecar -> primary
	replicaToPrimary *cluster.TCPProxy // replica's WAL stream
	sidecarToMC      map[string]*cluster.TCPProxy
	regions          []*fleet.Region
	suite            *testing.T // owns processes restarted by scenarios
	// gutter is the gutter region while its scenario runs, and groups
	// split a region's watched keys (by region name; none: one group).
	gutter *gutterRegion
	groups map[string][]keyGroup
	// failover is the failover scenario's own databases while it runs.
	failover *failoverWorld
	load     *load // the running scenario's
}

func newWorld(t *testing.T) *world {
	w := &world{sidecarToMC: map[string]*cluster.TCPProxy{}}
	w.pg = startPrimary(t)
	w.replica = w.pg.StartReplica(t)
	w.replicaToPrimary = cluster.NewTCPProxy(t, w.pg.Addr())
	w.replica.SetPrimaryAddr(t, w.replicaToPrimary.Addr())
	w.westToPrimary = cluster.NewTCPProxy(t, w.pg.Addr())
	westSource := fmt.Sprintf("postgres://postgres@%s/app?sslmode=disable", w.westToPrimary.Addr())

	viaProxy := func(name string) func(string) string {
		return func(real string) string {
			x := cluster.NewTCPProxy(t, real)
			w.sidecarToMC[name] = x
			return x.Addr()
		}
	}
	w.east = fleet.StartRegion(t, fleet.RegionSpec{
		Name: "east", Source: w.pg.DSN("app"), ReadDSN: w.pg.DSN("app"),
		SidecarMemcached: viaProxy("east"), Tables: tables, Values: values, Consistency: monitorConfig,
	})
	w.west = fleet.StartRegion(t, fleet.RegionSpec{
		Name: "west", Source: westSource, Replica: w.replica.DSN("app"), ReadDSN: w.replica.DSN("app"),
		SidecarMemcached: viaProxy("west"), Tables: tables, Values: values, Consistency: monitorConfig,
		Join: []string{w.east.Sidecar.Config.ClusterBind},
	})
	w.regions = []*fleet.Region{w.east, w.west}
	return w
}

// startPrimary starts a primary with the suite's database and tables.
func startPrimary(t *testing.T) *cluster.Postgres {
	pg := cluster.StartPostgres(t)
	pg.CreateDB(t, "app")
	for _, tbl := range []string{"items", "bulk"} {
		pg.ExecDB(t, "app", fmt.Sprintf("CREATE TABLE %s (id int PRIMARY KEY, version int NOT NULL)", tbl))
	}
	pg.ExecDB(t, "app", "INSERT INTO items SELECT g, 0 FROM generate_series(1, $1::int) g", itemRows)
	pg.ExecDB(t, "app", "INSERT INTO bulk SELECT g, 0 FROM generate_series(1, $1::int) g", bulkRows)
	return pg
}

// writeDSN is where the writers write: the suite's primary, or the
// failover scenario's multi-host DSN, which follows the promotion.
func (w *world) writeDSN() string {
	if w.failover != nil {
		return w.failover.dsn
	}
	return w.pg.DSN("app")
}

// quiesce waits until the replica has replayed everything written so far
// and every region has confirmed it: every invalidation has been delivered.
// After the failover scenario's promotion the primary is its promoted
// replica, which has no replica of its own.
func (w *world) quiesce(t *testing.T) {
	t.Helper()
	primary, replicas := w.pg, []*cluster.Postgres{w.replica}
	if w.failover != nil {
		primary, replicas = w.failover.r, nil
	}
	lsn := primary.InsertLSN(t, "app")
	for _, rep := range replicas {
		rep.WaitReplayed(t, "app", lsn, 90*time.Second)
	}
	for _, r := range w.regions {
		primary.WaitConfirmed(t, "app", r.Slot(), lsn, 90*time.Second)
	}
}

// check runs the consistency checker on every region and returns the
// inconsistent keys in all.
func (w *world) check(t *testing.T) int {
	t.Helper()
	bad := 0
	for _, r := range w.regions {
		for _, servers := range w.pools(r) {
			cfg := audit.DefaultConfig()
			cfg.DSN, cfg.Servers, cfg.Tables = r.Spec.ReadDSN, servers, tables
			cfg.Expected = func(table string, row map[string]string) []byte {
				v, _ := audit.RenderValue(values[table], row) // a constant template
				return []byte(v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			rep, err := audit.Check(ctx, cfg)
			cancel()
			if err != nil {
				t.Fatalf("check %s %v: %v", r.Spec.Name, servers, err)
			}
			t.Logf("check %s %v: %s", r.Spec.Name, servers, rep)
			for _, e := range rep.Examples {
				t.Errorf("%s inconsistent: %s", r.Spec.Name, e)
			}
			bad += rep.Inconsistent
		}
	}
	return bad
}

// fillBulk caches every bulk row, as readers would, in every region: a lost
// invalidation of the backlog then shows as an inconsistent key.
func (w *world) fillBulk(t *testing.T) {
	t.Helper()
	rows := w.pg.QueryString(t, "app", "SELECT string_agg(id || '|' || version, ',' ORDER BY id) FROM bulk")
	versions := strings.Split(rows, ",") // ids are 1..bulkRows: id's row is versions[id-1]
	for _, r := range w.regions {
		c, err := net.Dial("tcp", r.MC.Addr())
		if err != nil {
			t.Fatal(err)
		}
		bw := bufio.NewWriter(c)
		for id := 1; id <= bulkRows; id++ {
			v := versions[id-1]
			fmt.Fprintf(bw, "set bulk:%d 0 0 %d noreply\r\n%s\r\n", id, len(v), v)
		}
		bw.WriteString("mn\r\n")
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || line != "MN\r\n" {
			t.Fatalf("fill bulk in %s: %q %v", r.Spec.Name, line, err)
		}
	}
}

func (w *world) lifetime(t *testing.T) worldLifetime { return worldLifetime{T: t, suite: w.suite} }
