package invalidator

import (
	"testing"
	"time"

	"github.com/cachesync/cachesync/replication"
)

// BenchmarkOneRowTx measures one single-row transaction (Begin, Change,
// Commit) through the fake backend up to its ack, allocations included.
func BenchmarkOneRowTx(b *testing.B) {
	cfg := testConfig()
	cfg.BatchDelay = time.Microsecond
	ack := &fakeAcker{}
	cfg.Acker = ack
	be := newFakeBackend()
	be.countOnly = true
	inv, ctx := runInvalidator(b, cfg, be)
	c := insert("1", "ann")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		final := replication.LSN(10 * (i + 1))
		_ = inv.Begin(ctx, replication.Begin{FinalLSN: final, Xid: uint32(final)})
		_ = inv.Change(ctx, c)
		_ = inv.Commit(ctx, replication.Commit{CommitLSN: final, EndLSN: final + 1})
		for ack.last() < final+1 {
			time.Sleep(time.Microsecond)
		}
	}
}
