package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cachesync/cachesync/region"
)

// fetchStatus reads a sidecar's /api/status: the figures of the whole fleet
// as gossiped, the same the dashboard shows.
func fetchStatus(ctx context.Context, url string) (region.StatusView, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var v region.StatusView
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return v, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return v, fmt.Errorf("status: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return v, fmt.Errorf("status: %s %s", res.Status, body)
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		return v, fmt.Errorf("status: decode: %w", err)
	}
	return v, nil
}

// fleetHas is nil once the fleet that statusURL's node sees has node alive
// and gossiping proxy figures (what the dashboard's region card shows).
func fleetHas(ctx context.Context, statusURL, node string) error {
	v, err := fetchStatus(ctx, statusURL)
	if err != nil {
		return err
	}
	for _, m := range v.Fleet {
		if m.Name != node {
			continue
		}
		if m.State != "alive" || m.Status == nil || m.Status.Proxy == nil {
			return fmt.Errorf("%s is %s in the fleet, without proxy figures yet", node, m.State)
		}
		return nil
	}
	return fmt.Errorf("%s is not in the fleet yet", node)
}

// summary turns successive samples into one line per interval; rates are
// over the interval, except the sidecars' own (recent-seconds) rates.
type summary struct {
	regions    []string
	start      time.Time
	lastAt     time.Time
	lastWrites uint64
	lastHits   uint64
	lastMisses uint64
}

func newSummary(regions []string, now time.Time) *summary {
	return &summary{regions: regions, start: now, lastAt: now}
}

// line formats one summary. stale is the check's result (nil with checkErr
// when the check could not conclude).
func (s *summary) line(now time.Time, writes uint64, v region.StatusView, statusErr error, stale staleResult, checkErr error) string {
	var b strings.Builder
	el := now.Sub(s.start).Round(time.Second)
	fmt.Fprintf(&b, "[%s] writes/s %.0f", el, float64(writes-s.lastWrites)/now.Sub(s.lastAt).Seconds())
	s.lastAt, s.lastWrites = now, writes

	byName := map[string]region.RegionSummary{}
	for _, r := range v.Regions {
		byName[r.Region] = r
	}
	if statusErr != nil {
		fmt.Fprintf(&b, " | status unavailable: %v", statusErr)
	} else {
		b.WriteString(" | invalidations/s")
		for _, name := range s.regions {
			inv := 0.0
			if p := byName[name].InvalidationsPerSec; p != nil {
				inv = *p
			}
			fmt.Fprintf(&b, " %s %.0f", name, inv)
		}
		b.WriteString(" | lag p50/p99")
		for _, name := range s.regions {
			fmt.Fprintf(&b, " %s %s", name, lagText(byName[name].E2ELag))
		}
		b.WriteString(" | consistency")
		for _, name := range s.regions {
			fmt.Fprintf(&b, " %s %s", name, consistencyText(byName[name].Consistency))
		}
		var hits, misses uint64
		for _, name := range s.regions {
			if p := byName[name].Proxy; p != nil {
				hits, misses = hits+p.Hits, misses+p.Misses
			}
		}
		dh, dm := hits-min(hits, s.lastHits), misses-min(misses, s.lastMisses)
		s.lastHits, s.lastMisses = hits, misses
		if dh+dm > 0 {
			fmt.Fprintf(&b, " | hit rate %.1f%%", 100*region.HitRate(dh, dm))
		} else {
			b.WriteString(" | hit rate -")
		}
	}
	if checkErr != nil {
		fmt.Fprintf(&b, " | stale ? (%v)", checkErr)
	} else {
		fmt.Fprintf(&b, " | stale %d (%d cached values checked)", stale.Stale, stale.Checked)
	}
	return b.String()
}

// consistencyText is a region's monitor: checked/inconsistent and the nines.
func consistencyText(c *region.ConsistencyStatus) string {
	if c == nil {
		return "-"
	}
	return fmt.Sprintf("%d/%d %s", c.Checked, c.Inconsistent, c.Nines)
}

func lagText(l *region.LagStats) string {
	if l == nil || l.Samples == 0 {
		return "-"
	}
	return fmt.Sprintf("%s/%s", secs(l.P50), secs(l.P99))
}

func secs(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(100 * time.Microsecond).String()
}
