package region

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics exposes the fleet as this node sees it, so an alert can fire from
// any node's /metrics.
type metrics struct {
	members *prometheus.GaugeVec
	regions *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		members: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cachesync_cluster_members",
			Help: "Members of the fleet known to this node, by state.",
		}, []string{"state"}),
		regions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cachesync_cluster_region_behind",
			Help: "1 when the region has no alive active sidecar or is too far behind, else 0.",
		}, []string{"region"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.members, err = register(reg, m.members); err != nil {
		return nil, err
	}
	if m.regions, err = register(reg, m.regions); err != nil {
		return nil, err
	}
	return m, nil
}

// register reuses an identical collector already registered, so two nodes
// in one process (tests, the demo) can share a registry.
func register(reg prometheus.Registerer, c *prometheus.GaugeVec) (*prometheus.GaugeVec, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(*prometheus.GaugeVec); ok {
			return existing, nil
		}
	}
	return nil, fmt.Errorf("register metrics: %w", err)
}

func (m *metrics) observe(fleet []Member, sums []RegionSummary) {
	counts := map[string]float64{StateAlive: 0, StateSuspect: 0, StateDead: 0, StateLeft: 0}
	for _, mb := range fleet {
		counts[mb.State]++
	}
	for s, c := range counts {
		m.members.WithLabelValues(s).Set(c)
	}
	m.regions.Reset()
	for _, s := range sums {
		v := 0.0
		if s.Health == HealthBehind {
			v = 1
		}
		m.regions.WithLabelValues(s.Region).Set(v)
	}
}
