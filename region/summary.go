package region

import (
	"fmt"
	"sort"
)

// Region health, from best to worst; the dashboard colours them green,
// amber and red.
const (
	HealthOK     = "ok"
	HealthWarn   = "warn"
	HealthBehind = "behind"
)

// RegionSummary is one region as the dashboard shows it. Pointer figures are
// nil when no member reports them.
type RegionSummary struct {
	Region  string   `json:"region"`
	Health  string   `json:"health"`
	Reasons []string `json:"reasons,omitempty"`
	// ActiveSidecar names the alive sidecar that holds the region's slot.
	ActiveSidecar string         `json:"active_sidecar,omitempty"`
	Replica       *ReplicaStatus `json:"replica,omitempty"`
	Slot          *SlotStatus    `json:"slot,omitempty"`
	WALWarnBytes  int64          `json:"wal_warn_bytes"`
	WALWarning    bool           `json:"wal_warning"`
	E2ELag        *LagStats      `json:"e2e_lag,omitempty"`
	// Sources is every source of the region's active sidecars, each with
	// its own slot, replica and lag (the figures above are the first
	// active sidecar's, over its sources).
	Sources []SourceStatus `json:"sources,omitempty"`
	// InvalidationsPerSec and QueueDepth come from the active sidecar.
	InvalidationsPerSec *float64       `json:"invalidations_per_sec"`
	QueueDepth          *int           `json:"queue_depth"`
	Memcached           []ServerStatus `json:"memcached,omitempty"`
	MemcachedUp         int            `json:"memcached_up"`
	MemcachedDown       int            `json:"memcached_down"`
	// Consistency is the active sidecar's consistency monitor.
	Consistency *ConsistencyStatus `json:"consistency,omitempty"`
	// Proxy sums the counters of the region's alive proxies.
	Proxy *ProxyTotals `json:"proxy,omitempty"`
	Nodes []Member     `json:"nodes"`
}

// ProxyTotals is the sum over a region's proxies.
type ProxyTotals struct {
	Proxies       int     `json:"proxies"`
	Hits          uint64  `json:"hits"`
	Misses        uint64  `json:"misses"`
	HitRate       float64 `json:"hit_rate"`
	LeasesGranted uint64  `json:"leases_granted"`
	HotMisses     uint64  `json:"hot_misses"`
	StaleServed   uint64  `json:"stale_served"`
}

type thresholds struct {
	walWarnBytes     int64
	lagWarn, lagCrit float64 // seconds
}

// summarize groups the fleet by region, sorted by name.
func summarize(fleet []Member, th thresholds) []RegionSummary {
	byRegion := map[string][]Member{}
	for _, m := range fleet {
		byRegion[m.Region] = append(byRegion[m.Region], m)
	}
	out := make([]RegionSummary, 0, len(byRegion))
	for name, members := range byRegion {
		out = append(out, summarizeRegion(name, members, th))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Region < out[j].Region })
	return out
}

func summarizeRegion(name string, members []Member, th thresholds) RegionSummary {
	s := RegionSummary{Region: name, Health: HealthOK, Nodes: members, WALWarnBytes: th.walWarnBytes}
	worse := func(h, reason string) {
		if rank(h) > rank(s.Health) {
			s.Health = h
		}
		s.Reasons = append(s.Reasons, reason)
	}
	var active []*NodeStatus
	servers := map[string]bool{}
	var order []string
	for _, m := range members {
		if m.Status == nil || isGone(m.State) {
			continue
		}
		st := m.Status
		if st.Role == "sidecar" && st.Active {
			if s.ActiveSidecar == "" {
				s.ActiveSidecar = m.Name
			}
			active = append(active, st)
		}
		if st.Proxy != nil {
			addProxy(&s, st.Proxy)
		}
		for _, sv := range st.Memcached {
			up, seen := servers[sv.Addr]
			if !seen {
				order = append(order, sv.Addr)
				up = true
			}
			servers[sv.Addr] = up && sv.Up
		}
		if !st.Healthy {
			for _, p := range st.Problems {
				worse(HealthWarn, m.Name+": "+p)
			}
			if len(st.Problems) == 0 {
				worse(HealthWarn, m.Name+": unhealthy")
			}
		}
	}
	for _, a := range order {
		s.Memcached = append(s.Memcached, ServerStatus{Addr: a, Up: servers[a]})
		if servers[a] {
			s.MemcachedUp++
		} else {
			s.MemcachedDown++
		}
	}
	if s.MemcachedDown > 0 {
		worse(HealthWarn, fmt.Sprintf("%d memcached server(s) down", s.MemcachedDown))
	}
	if s.Proxy != nil {
		s.Proxy.HitRate = HitRate(s.Proxy.Hits, s.Proxy.Misses)
	}
	if len(active) == 0 {
		worse(HealthBehind, "no active sidecar")
		return s
	}
	ips, qd := active[0].InvalidationsPerSec, active[0].QueueDepth
	s.InvalidationsPerSec, s.QueueDepth = &ips, &qd
	s.Replica, s.Slot, s.E2ELag, s.Consistency = active[0].Replica, active[0].Slot, active[0].E2ELag, active[0].Consistency
	// Sidecars may share a region's sources between them (each streams the
	// slots it got): a source is shown as the sidecar streaming it reports
	// it, and two streaming one source cannot both be right.
	claims := map[string]int{}
	shown := map[string]int{}
	for _, st := range active {
		for _, src := range activeSources(st) {
			if src.Active {
				claims[src.Name]++
			}
			i, seen := shown[src.Name]
			switch {
			case !seen:
				shown[src.Name] = len(s.Sources)
				s.Sources = append(s.Sources, src)
			case src.Active && !s.Sources[i].Active:
				s.Sources[i] = src
			}
		}
		if l := st.E2ELag; l != nil && l.Samples > 0 {
			lagHealth(l.P99, th, "end-to-end lag p99", worse)
		}
	}
	for _, src := range s.Sources {
		sourceHealth(&s, src, th, worse)
	}
	for _, n := range claims {
		if n > 1 {
			worse(HealthWarn, fmt.Sprintf("%d sidecars claim to be active", len(active)))
			break
		}
	}
	return s
}

// activeSources is a sidecar's sources; a node of an older version reports
// its single source in the node's own fields.
func activeSources(st *NodeStatus) []SourceStatus {
	if len(st.Sources) > 0 {
		return st.Sources
	}
	return []SourceStatus{{Active: st.Active, Slot: st.Slot, Replica: st.Replica}}
}

func sourceHealth(s *RegionSummary, src SourceStatus, th thresholds, worse func(h, reason string)) {
	name := ""
	if src.Name != "" {
		name = "source " + src.Name + ": "
	}
	if sl := src.Slot; sl != nil {
		if sl.WarnBytes > 0 {
			s.WALWarnBytes = sl.WarnBytes
		}
		if s.WALWarnBytes > 0 && sl.RetainedWALBytes >= s.WALWarnBytes {
			s.WALWarning = true
			worse(HealthWarn, fmt.Sprintf("%sslot %s retains %s of WAL (warn at %s)", name, sl.Name, humanBytes(sl.RetainedWALBytes), humanBytes(s.WALWarnBytes)))
		}
		switch sl.WALStatus {
		case "lost":
			worse(HealthBehind, name+"slot "+sl.Name+" lost its WAL")
		case "unreserved":
			worse(HealthBehind, name+"slot "+sl.Name+" is about to lose its WAL")
		}
		if !sl.Streaming {
			worse(HealthBehind, name+"slot "+sl.Name+" not streaming")
		}
	}
	if r := src.Replica; r != nil {
		if !r.Up {
			worse(HealthBehind, name+"replica down")
		} else {
			lagHealth(r.LagSeconds, th, name+"replica replay lag", worse)
		}
	}
}

func lagHealth(sec float64, th thresholds, what string, worse func(h, reason string)) {
	switch {
	case th.lagCrit > 0 && sec >= th.lagCrit:
		worse(HealthBehind, fmt.Sprintf("%s %.1fs", what, sec))
	case th.lagWarn > 0 && sec >= th.lagWarn:
		worse(HealthWarn, fmt.Sprintf("%s %.1fs", what, sec))
	}
}

// HitRate is hits over lookups, 0 before the first.
func HitRate(hits, misses uint64) float64 {
	if hits+misses == 0 {
		return 0
	}
	return float64(hits) / float64(hits+misses)
}

func addProxy(s *RegionSummary, p *ProxyStatus) {
	if s.Proxy == nil {
		s.Proxy = &ProxyTotals{}
	}
	t := s.Proxy
	t.Proxies++
	t.Hits += p.Hits
	t.Misses += p.Misses
	t.LeasesGranted += p.LeasesGranted
	t.HotMisses += p.HotMisses
	t.StaleServed += p.StaleServed
}

func rank(h string) int {
	switch h {
	case HealthWarn:
		return 1
	case HealthBehind:
		return 2
	default:
		return 0
	}
}

func humanBytes(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit && exp < 4; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTP"[exp])
}
