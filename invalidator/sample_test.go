package invalidator

import (
	"maps"
	"sync"
	"testing"

	"github.com/cachesync/cachesync/replication"
)

// recordingSampler takes every key and records what it is offered.
type recordingSampler struct {
	mu      sync.Mutex
	asked   int
	want    bool
	samples []Sample
}

func (s *recordingSampler) Sampled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked++
	return s.want
}

func (s *recordingSampler) Offer(x Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, x)
}

// TestSamplerSeesKeysWithTheirRows: each rendered key is offered once,
// with the row it was rendered from (a renamed row's old name with the old
// row), copied out of the change, and the transaction's commit LSN.
func TestSamplerSeesKeysWithTheirRows(t *testing.T) {
	cfg := testConfig()
	s := &recordingSampler{want: true}
	cfg.Sampler = s
	h := startHarness(t, cfg)
	old := []replication.Value{txt("1"), txt("ann"), txt("b")}
	h.tx(20, 21, &replication.Change{Op: replication.Update, Rel: usersRel,
		Old: old, New: []replication.Value{txt("1"), txt("anna"), {Kind: replication.Unchanged}}})
	waitAck(t, h.ack, 21)
	old[1].Data[0] = 'X' // the change's buffer is reused: the samples must not see it
	want := []Sample{
		{Table: "public.users", Key: "user:1", Row: map[string]string{"id": "1", "name": "ann", "bio": "b"}, Commit: 20},
		{Table: "public.users", Key: "user_by_name:ann", Row: map[string]string{"id": "1", "name": "ann", "bio": "b"}, Commit: 20},
		// bio is unchanged TOAST in the new row: taken from the old one.
		{Table: "public.users", Key: "user_by_name:anna", Row: map[string]string{"id": "1", "name": "anna", "bio": "b"}, Commit: 20},
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.asked != 3 || len(s.samples) != len(want) {
		t.Fatalf("asked %d, offered %+v", s.asked, s.samples)
	}
	for i, w := range want {
		g := s.samples[i]
		if g.Table != w.Table || g.Key != w.Key || g.Commit != w.Commit || !maps.Equal(g.Row, w.Row) {
			t.Errorf("sample %d = %+v, want %+v", i, g, w)
		}
	}
}

// TestSamplerDeclinedCostsNothing: a key the sampler does not want is not
// offered and builds no row.
func TestSamplerDeclinedCostsNothing(t *testing.T) {
	cfg := testConfig()
	s := &recordingSampler{}
	cfg.Sampler = s
	h := startHarness(t, cfg)
	c := insert("1", "ann")
	h.tx(10, 11, c)
	waitAck(t, h.ack, 11)
	// Inside a transaction, as Change calls it.
	if err := h.inv.Begin(h.ctx, replication.Begin{FinalLSN: 20, Xid: 20}); err != nil {
		t.Fatal(err)
	}
	r, tu := h.inv.rels[usersRel.ID], &tuple{vals: c.New}
	allocs := testing.AllocsPerRun(100, func() { h.inv.sample(r, tu, "user:1") })
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.asked < 100 || len(s.samples) != 0 || allocs != 0 {
		t.Fatalf("declined keys: asked %d, %d offered, %.0f allocations per key", s.asked, len(s.samples), allocs)
	}
}
