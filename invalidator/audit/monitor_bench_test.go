package audit

import (
	"testing"

	"github.com/cachesync/cachesync/invalidator"
)

// BenchmarkMonitorHook is what the invalidator pays per rendered key for
// the monitor: Sampled, and Offer for the sampled ones (the row map is the
// invalidator's, built only for those). Nothing drains the queue, so at
// sample 1 every Offer after the first QueueSize is the drop path.
func BenchmarkMonitorHook(b *testing.B) {
	for _, tc := range []struct {
		name   string
		sample float64
	}{{"default-0.001", 0.001}, {"all-1.0", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := DefaultMonitorConfig()
			cfg.DSN, cfg.Servers, cfg.Sample = "unused", []string{"127.0.0.1:1"}, tc.sample
			m, err := NewMonitor(cfg)
			if err != nil {
				b.Fatal(err)
			}
			s := invalidator.Sample{Table: "public.users", Key: "user:1", Row: map[string]string{"id": "1"}, Commit: 1}
			b.ReportAllocs()
			for b.Loop() {
				if m.Sampled() {
					m.Offer(s)
				}
			}
		})
	}
}
