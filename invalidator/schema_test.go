package invalidator

import (
	"context"
	"fmt"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cachesync/cachesync/replication"
)

// A flush message is delivered in its place in the stream: after the keys
// before it, and before the transaction that carries it is acked.
func TestFlushMessageInOrder(t *testing.T) {
	h := startHarness(t, testConfig())
	var problems []string
	h.ack.check = func(end replication.LSN) {
		h.be.mu.Lock()
		defer h.be.mu.Unlock()
		if end >= 21 && h.be.flushes != 1 {
			problems = append(problems, fmt.Sprintf("ack %s before the flush (flushes %d)", end, h.be.flushes))
		}
	}
	h.tx(10, 11, insert("1", "a"))
	ctx := h.ctx
	if err := h.inv.Begin(ctx, replication.Begin{FinalLSN: 20, Xid: 20}); err != nil {
		t.Fatal(err)
	}
	if err := h.inv.Message(ctx, replication.Message{Transactional: true, LSN: 19, Prefix: replication.FlushPrefix,
		Content: []byte("public.t not in publication p")}); err != nil {
		t.Fatal(err)
	}
	if err := h.inv.Commit(ctx, replication.Commit{CommitLSN: 20, EndLSN: 21}); err != nil {
		t.Fatal(err)
	}
	h.tx(30, 31, insert("2", "b"))
	waitAck(t, h.ack, 31)
	h.ack.mu.Lock()
	defer h.ack.mu.Unlock()
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if h.be.count("user:2") != 1 || h.inv.Stats().Invalidations < 3 || h.inv.publicationFlushes.Load() != 1 {
		t.Fatalf("after the flush: user:2 delivered %d times, stats %+v", h.be.count("user:2"), h.inv.Stats())
	}
}

// A key column's type change is warned about once per change, naming the
// table, the column and both types, and counted.
func TestKeyColumnTypeChangeWarnsOnce(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	cfg := testConfig()
	cfg.Logger = zap.New(core)
	inv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rel := func(oid uint32, mod int32) *replication.Relation {
		return &replication.Relation{ID: 1, Namespace: "public", Name: "users", ReplicaIdentity: 'f',
			Columns: []replication.Column{{Name: "id", Key: true, TypeOID: oid, TypeMod: mod}, {Name: "name", TypeOID: 25, TypeMod: -1}, {Name: "bio", TypeOID: 1700, TypeMod: -1}}}
	}
	const numeric61 = (6<<16 | 1) + 4
	for _, r := range []*replication.Relation{rel(23, -1), rel(23, -1), rel(1700, numeric61), rel(1700, numeric61)} {
		if err := inv.Relation(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	warned := logs.FilterMessageSnippet("key column changed type").All()
	if len(warned) != 1 || inv.typeChanges.Load() != 1 {
		t.Fatalf("%d warnings, %d counted; want 1", len(warned), inv.typeChanges.Load())
	}
	f := warned[0].ContextMap()
	if f["table"] != "public.users" || f["column"] != "id" || f["old_type"] != "int4" || f["new_type"] != "numeric(6,1)" {
		t.Fatalf("warning fields %v", f)
	}
}

func TestTypeName(t *testing.T) {
	for _, c := range []struct {
		ct   colType
		want string
	}{
		{colType{23, -1}, "int4"}, {colType{1700, -1}, "numeric"}, {colType{1700, (10<<16 | 2) + 4}, "numeric(10,2)"},
		{colType{1043, 36}, "varchar(32)"}, {colType{1114, 3}, "timestamp(3)"}, {colType{99999, -1}, "type OID 99999"},
	} {
		if got := typeName(c.ct); got != c.want {
			t.Errorf("typeName(%v) = %q, want %q", c.ct, got, c.want)
		}
	}
}
