package faults

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	loadBefore = 3 * time.Second // load before the fault, so it hits a busy system
	loadAfter  = 4 * time.Second // load after the fault has healed
)

// scenario injects one fault while the load runs; it returns a description
// of what it injected. prepare, if set, runs before the load starts.
type scenario struct {
	name    string
	prepare func(t *testing.T, w *world)
	inject  func(t *testing.T, w *world) string
}

var scenarios = []scenario{
	{name: "sidecar-sigkill-backlog", prepare: func(t *testing.T, w *world) { w.fillBulk(t) }, inject: func(t *testing.T, w *world) string {
		w.pg.ExecDB(t, "app", "UPDATE bulk SET version = version + 1")
		w.pg.ExecDB(t, "app", "UPDATE bulk SET version = version + 1")
		kills := 0
		for i := 0; i < 3; i++ {
			for _, r := range w.regions {
				r.RestartSidecar(w.lifetime(t))
				kills++
			}
			for _, r := range w.regions {
				r.Sidecar.WaitReady(t, 60*time.Second)
			}
			w.pg.ExecDB(t, "app", "UPDATE bulk SET version = version + 1")
		}
		return fmt.Sprintf("3 bulk updates of %d rows, %d SIGKILLs of sidecars during the backlog", bulkRows, kills)
	}},
	{name: "memcached-restart", inject: func(t *testing.T, w *world) string {
		w.east.MC.Kill(t)
		pause(nil, time.Second)
		w.east.MC.Restart(t)
		return "east memcached SIGKILLed, restarted empty after 1s"
	}},
	{name: "memcached-unreachable-from-sidecar", inject: func(t *testing.T, w *world) string {
		x := w.sidecarToMC["west"]
		x.Cut()
		pause(nil, 10*time.Second)
		x.Heal()
		return "west sidecar cut off its memcached for 10s (readers unaffected)"
	}},
	{name: "primary-restart", inject: func(t *testing.T, w *world) string {
		w.pg.Stop(t)
		w.pg.Start(t)
		return "primary stopped (fast) and started"
	}},
	{name: "replica-restart", inject: func(t *testing.T, w *world) string {
		w.replica.Stop(t)
		pause(nil, 2*time.Second)
		w.replica.Start(t)
		return "replica stopped for 2s and started"
	}},
	{name: "replica-delayed", inject: func(t *testing.T, w *world) string {
		setApplyDelay(t, w, "2s")
		pause(nil, 6*time.Second)
		setApplyDelay(t, w, "0")
		return "replica recovery_min_apply_delay=2s for 6s of load"
	}},
	{name: "region-cutoff", inject: func(t *testing.T, w *world) string {
		w.westToPrimary.Cut()
		w.replicaToPrimary.Cut()
		pause(nil, 30*time.Second)
		w.westToPrimary.Heal()
		w.replicaToPrimary.Heal()
		return "west sidecar and replica cut off from the primary for 30s"
	}},
	{name: "proxy-restart", inject: func(t *testing.T, w *world) string {
		w.west.RestartProxy(w.lifetime(t))
		w.east.RestartProxy(w.lifetime(t))
		return "west and east proxies SIGKILLed mid-load (leases outstanding) and restarted"
	}},
	{name: "one-of-three-memcached-stopped-20s", prepare: func(t *testing.T, w *world) { w.useGutterRegion(t) }, inject: stopOneOfThree},
	{name: "failover-to-lagging-replica", prepare: func(t *testing.T, w *world) { w.useFailoverWorld(t) }, inject: failoverToLaggingReplica},
}

func setApplyDelay(t *testing.T, w *world, d string) {
	w.replica.Exec(t, fmt.Sprintf("ALTER SYSTEM SET recovery_min_apply_delay = '%s'", d))
	w.replica.Exec(t, "SELECT pg_reload_conf()")
}

// result is one line of the suite's table.
type result struct {
	scenario, injected string
	ops                int64
	p99, max           map[string]time.Duration
	cols               []string // watchers in order: east, west, or a region's key groups
	samples            int
	inconsistent       int
	unresolved         int
	monitor            map[string]monitorCounts // by region: the sidecars' own monitor
}

func TestFaults(t *testing.T) {
	w := newWorld(t)
	w.suite = t
	var results []result
	for _, sc := range scenarios {
		ok := t.Run(sc.name, func(t *testing.T) {
			if sc.prepare != nil {
				sc.prepare(t, w)
			}
			before := w.monitorSnapshot(t)
			l := startLoad(t, w)
			pause(nil, loadBefore)
			injected := sc.inject(t, w)
			pause(nil, loadAfter)
			l.stopWrites()
			w.quiesce(t)
			unresolved := l.finish()
			res := result{scenario: sc.name, injected: injected, ops: l.ops(), p99: map[string]time.Duration{}, max: map[string]time.Duration{}, unresolved: unresolved}
			for _, wt := range l.watchers {
				s := wt.st.Summary()
				res.p99[wt.region], res.max[wt.region] = s.P99, s.Max
				res.cols = append(res.cols, wt.region)
				res.samples += s.N
				t.Logf("%s staleness: %s", wt.region, s)
			}
			res.inconsistent = w.check(t)
			res.monitor = map[string]monitorCounts{}
			for name, after := range w.monitorSnapshot(t) {
				res.monitor[name] = monitorDelta(before[name], after)
			}
			t.Logf("%s: consistency monitor (checked/inconsistent nines): %s", sc.name, res.monitorCell())
			t.Logf("%s: injected: %s; ops %d (writes %d, reads %d, read errors %d, write errors %d); inconsistent %d; unresolved samples %d",
				sc.name, injected, res.ops, l.writes.Load(), l.reads.Load(), l.readErrs.Load(), l.writeErrs.Load(), res.inconsistent, unresolved)
			if unresolved > 0 {
				t.Errorf("%d sampled writes still served with an old version after quiescence", unresolved)
			}
			results = append(results, res)
		})
		if !ok {
			break // the world may be broken: later scenarios would only add noise
		}
	}
	table := formatTable(results)
	t.Log("\n" + table)
	fmt.Fprint(os.Stdout, table)
}

func formatTable(rs []result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-36s | %8s | %-30s | %-30s | %-12s | %s\n", "scenario", "ops", "staleness p99 east/west", "max east/west", "inconsistent",
		"monitor checked/inconsistent nines east / west")
	for _, r := range rs {
		fmt.Fprintf(&b, "%-36s | %8d | %-30s | %-30s | %-12d | %s\n", r.scenario, r.ops,
			r.cell(r.p99), r.cell(r.max), r.inconsistent, r.monitorCell())
	}
	for _, r := range rs {
		fmt.Fprintf(&b, "  %s: %s\n", r.scenario, r.injected)
	}
	return b.String()
}

// cell is "east / west", or, for a scenario watching other groups, each
// group's figure with its name.
func (r result) cell(m map[string]time.Duration) string {
	if slices.Equal(r.cols, []string{"east", "west"}) {
		return ms(m["east"]) + " / " + ms(m["west"])
	}
	parts := make([]string, len(r.cols))
	for i, c := range r.cols {
		parts[i] = c + " " + ms(m[c])
	}
	return strings.Join(parts, " / ")
}

// monitorCell is "east / west", or the regions the scenario ran on, named.
func (r result) monitorCell() string {
	if _, ok := r.monitor["east"]; ok {
		return r.monitor["east"].String() + " / " + r.monitor["west"].String()
	}
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(r.monitor)) {
		parts = append(parts, name+" "+r.monitor[name].String())
	}
	return strings.Join(parts, " / ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
