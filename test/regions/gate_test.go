package regions

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cachesync/cachesync/lease"
	"github.com/cachesync/cachesync/test/browser"
	"github.com/cachesync/cachesync/test/cluster"
	"github.com/cachesync/cachesync/test/fleet"
)

const (
	hotRows      = 20
	replicaDelay = 2 * time.Second
)

// TestTwoRegions runs a primary (east) and a replica delayed by 2 s (west)
// with readers filling through their proxies while rows change. West's
// sidecar gates on the replica; a third region, westnogate, reads the same
// replica but its sidecar is not told about it: the control that shows what
// the gate prevents.
func TestTwoRegions(t *testing.T) {
	pg := cluster.StartPostgres(t)
	pg.CreateDB(t, "app")
	pg.ExecDB(t, "app", "CREATE TABLE items (id int PRIMARY KEY, version int NOT NULL)")
	pg.ExecDB(t, "app", "ALTER TABLE items REPLICA IDENTITY FULL")
	pg.ExecDB(t, "app", "INSERT INTO items SELECT g, 0 FROM generate_series(1, $1::int) g", hotRows)
	replica := pg.StartReplica(t, cluster.WithApplyDelay(replicaDelay))

	east := startRegion(t, "east", pg.DSN("app"), "", pg.DSN("app"), nil)
	join := []string{east.Sidecar.Config.ClusterBind}
	west := startRegion(t, "west", pg.DSN("app"), replica.DSN("app"), replica.DSN("app"), join)
	nogate := startRegion(t, "westnogate", pg.DSN("app"), "", replica.DSN("app"), join)
	regions := []*fleet.Region{east, west, nogate}

	t.Run("gate", func(t *testing.T) {
		ops := runWorkload(t, pg, regions, 600)
		lsn := pg.InsertLSN(t, "app")
		// Quiescence: the replica has replayed everything and every region
		// has confirmed it (so every invalidation was delivered after the
		// gate let it through). Readers keep reading until then: that is
		// when a lagging refill would happen.
		replica.WaitReplayed(t, "app", lsn, 30*time.Second)
		for _, r := range regions {
			pg.WaitConfirmed(t, "app", r.Slot(), lsn, time.Minute)
		}
		ops.stop()
		t.Logf("workload: %d updates, %d reads, %d fills", ops.writes.Load(), ops.reads.Load(), ops.fills.Load())

		stale := map[string]int{}
		for _, r := range regions {
			fresh := 0
			for id := 1; id <= hotRows; id++ {
				want := itemValue(id, mustAtoi(t, pg.QueryString(t, "app", "SELECT version::text FROM items WHERE id = $1", id)))
				got, ok, err := cluster.ClassicGet(r.ProxyAddr, "item:"+strconv.Itoa(id))
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case ok && got != want:
					stale[r.Spec.Name]++
					t.Logf("%s: item:%d cached %q, primary has %q", r.Spec.Name, id, got, want)
				case ok:
					fresh++
				}
			}
			t.Logf("%s: %d stale, %d fresh, %d not cached", r.Spec.Name, stale[r.Spec.Name], fresh, hotRows-stale[r.Spec.Name]-fresh)
		}
		if stale["east"] != 0 || stale["west"] != 0 {
			t.Errorf("stale values in gated regions: east %d, west %d; want 0", stale["east"], stale["west"])
		}
		if stale["westnogate"] == 0 {
			t.Errorf("the ungated region shows no stale value: the test would not notice a missing gate")
		}

		// West's end-to-end lag includes the replica's delay; east's does not.
		cluster.Eventually(t, 10*time.Second, func() error {
			ws, err := west.Sidecar.Status()
			if err != nil {
				return err
			}
			es, err := east.Sidecar.Status()
			if err != nil {
				return err
			}
			if ws.E2ELag == nil || es.E2ELag == nil {
				return errors.New("no e2e lag yet")
			}
			if ws.E2ELag.P50 < replicaDelay.Seconds() {
				return fmt.Errorf("west e2e p50 %.3fs is below the replica's delay %s: the gate did not wait", ws.E2ELag.P50, replicaDelay)
			}
			if es.E2ELag.P50 >= replicaDelay.Seconds() {
				return fmt.Errorf("east e2e p50 %.3fs: east waits for nothing", es.E2ELag.P50)
			}
			t.Logf("e2e lag: east p50 %.1f ms p99 %.1f ms; west p50 %.1f ms p99 %.1f ms (replica delay %s)",
				es.E2ELag.P50*1e3, es.E2ELag.P99*1e3, ws.E2ELag.P50*1e3, ws.E2ELag.P99*1e3, replicaDelay)
			return nil
		})
	})

	t.Run("dashboard", func(t *testing.T) {
		url := "http://" + west.Sidecar.Config.HTTPListen + "/"
		var before map[string]string
		cluster.Eventually(t, 30*time.Second, func() error {
			var err error
			if before, err = dashboardFigures(url); err != nil {
				return err
			}
			for _, r := range []string{"east", "west"} {
				for _, f := range []string{"e2e-p50", "e2e-p99", "slot-confirmed", "hit-rate"} {
					if v := before[r+"/"+f]; v == "" || v == "–" {
						return fmt.Errorf("dashboard served by west: %s %s = %q, want a figure (figures: %v)", r, f, v, before)
					}
				}
			}
			if v := before["west/replica-lag-seconds"]; v == "" || v == "–" {
				return fmt.Errorf("west's replica lag not shown: %v", before)
			}
			return nil
		})
		pg.ExecDB(t, "app", "UPDATE items SET version = version + 1")
		lsn := pg.InsertLSN(t, "app")
		pg.WaitConfirmed(t, "app", east.Slot(), lsn, time.Minute)
		pg.WaitConfirmed(t, "app", west.Slot(), lsn, time.Minute)
		cluster.Eventually(t, 20*time.Second, func() error {
			after, err := dashboardFigures(url)
			if err != nil {
				return err
			}
			for _, r := range []string{"east", "west"} {
				if after[r+"/slot-confirmed"] == before[r+"/slot-confirmed"] {
					return fmt.Errorf("%s slot-confirmed still %s", r, before[r+"/slot-confirmed"])
				}
			}
			return nil
		})
		shot := filepath.Join(os.TempDir(), fmt.Sprintf("cachesync-two-regions-%d.png", time.Now().UnixNano()))
		ctx, cancel := context.WithTimeout(bg, 60*time.Second)
		defer cancel()
		if err := browser.BrowserScreenshot(ctx, url, shot); err != nil {
			t.Fatal(err)
		}
		t.Logf("dashboard screenshot: %s", shot)
	})
}

var figureRE = regexp.MustCompile(`data-field="([a-z0-9-]+)">([^<]*)<`)
var regionRE = regexp.MustCompile(`data-region="([a-z0-9_]+)"`)

// dashboardFigures renders the page in headless chromium and returns every
// figure as "region/field" -> text.
func dashboardFigures(url string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(bg, 60*time.Second)
	defer cancel()
	dom, err := browser.BrowserDOM(ctx, url)
	if err != nil {
		return nil, err
	}
	figs := map[string]string{}
	starts := regionRE.FindAllStringSubmatchIndex(dom, -1)
	for i, s := range starts {
		end := len(dom)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		name := dom[s[2]:s[3]]
		for _, m := range figureRE.FindAllStringSubmatch(dom[s[0]:end], -1) {
			if _, seen := figs[name+"/"+m[1]]; !seen {
				figs[name+"/"+m[1]] = m[2]
			}
		}
	}
	if len(figs) == 0 {
		return nil, fmt.Errorf("no region figures in the dashboard DOM:\n%.2000s", dom)
	}
	return figs, nil
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("atoi %q: %v", s, err)
	}
	return n
}

type workload struct {
	cancel               context.CancelFunc
	wg                   sync.WaitGroup
	writes, reads, fills atomic.Int64
}

// stop ends the readers and reports the first error any of them hit.
func (w *workload) stop() {
	w.cancel()
	w.wg.Wait()
}

// runWorkload updates random hot rows (updates of them in all, ~150/s) on
// the primary while three readers per region read through their proxy with
// the lease client, filling from the region's database. It returns once the
// writes are done; the readers run until stop.
func runWorkload(t *testing.T, pg *cluster.Postgres, regions []*fleet.Region, updates int) *workload {
	t.Helper()
	ctx, cancel := context.WithCancel(bg)
	w := &workload{cancel: cancel}
	t.Cleanup(w.stop)
	for _, r := range regions {
		for i := 0; i < 3; i++ {
			client, err := lease.NewClient(r.ProxyAddr)
			if err != nil {
				t.Fatal(err)
			}
			db, err := pgx.Connect(ctx, r.Spec.ReadDSN)
			if err != nil {
				t.Fatal(err)
			}
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				defer client.Close()
				defer db.Close(bg)
				for ctx.Err() == nil {
					id := 1 + rand.IntN(hotRows)
					_, err := client.GetOrFill(ctx, "item:"+strconv.Itoa(id), time.Minute, func(ctx context.Context) ([]byte, error) {
						var v int
						if err := db.QueryRow(ctx, "SELECT version FROM items WHERE id = $1", id).Scan(&v); err != nil {
							return nil, err
						}
						w.fills.Add(1)
						return []byte(itemValue(id, v)), nil
					})
					if err == nil {
						w.reads.Add(1)
					} else if ctx.Err() == nil {
						t.Errorf("%s reader: %v", r.Spec.Name, err)
						return
					}
				}
			}()
		}
	}
	db, err := pgx.Connect(ctx, pg.DSN("app"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(bg)
	tick := time.NewTicker(time.Second / 150)
	defer tick.Stop()
	for i := 0; i < updates; i++ {
		<-tick.C
		if _, err := db.Exec(ctx, "UPDATE items SET version = version + 1 WHERE id = $1", 1+rand.IntN(hotRows)); err != nil {
			t.Fatal(err)
		}
		w.writes.Add(1)
	}
	return w
}
