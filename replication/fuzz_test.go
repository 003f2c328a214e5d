package replication

import (
	"context"
	"encoding/binary"
	"testing"
)

// FuzzDispatch feeds arbitrary pgoutput messages to the decoder and
// dispatcher: a corrupt or hostile stream must give an error, never a panic
// or an allocation proportional to a length field it claims.
func FuzzDispatch(f *testing.F) {
	rel := []byte{'R'}
	rel = binary.BigEndian.AppendUint32(rel, 7)
	rel = append(rel, "public\x00users\x00"...)
	rel = append(rel, 'f')
	rel = binary.BigEndian.AppendUint16(rel, 2)
	rel = append(rel, 1)
	rel = append(rel, "id\x00"...)
	rel = binary.BigEndian.AppendUint32(rel, 23)
	rel = binary.BigEndian.AppendUint32(rel, 0xffffffff)
	rel = append(rel, 0)
	rel = append(rel, "name\x00"...)
	rel = binary.BigEndian.AppendUint32(rel, 25)
	rel = binary.BigEndian.AppendUint32(rel, 0xffffffff)
	f.Add(rel, rowMsg('I', 7, []byte{'N'}, tuple(col{'t', "1"}, col{'t', "bob"})))
	f.Add(rel, rowMsg('U', 7, []byte{'O'}, tuple(col{'t', "1"}, col{'n', ""}), []byte{'N'}, tuple(col{'t', "1"}, col{'u', ""})))
	f.Add(rel, rowMsg('D', 7, []byte{'K'}, tuple(col{'t', "1"}, col{'n', ""})))
	f.Add(rel, rowMsg('U', 7, []byte{'N'}, tuple(col{'t', "9999999"})))
	f.Add(rel, []byte{'T', 0, 0, 0, 1, 0, 0, 0, 0, 7})
	f.Add(rel, []byte{'B', 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7})
	f.Add(rel, []byte{'M', 1, 0, 0, 0, 0, 1, 0, 0, 0, 'h', 'b', 0, 0, 0, 0, 2, 'h', 'i'})
	f.Add([]byte{}, []byte{'C', 0})
	f.Fuzz(func(t *testing.T, first, second []byte) {
		m, err := newStreamMetrics(nil, "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		d := &dispatcher{dec: newDecoder(), h: checkingHandler{t}, tr: &tracker{}, m: m}
		ctx := context.Background()
		_ = d.dispatch(ctx, first) // errors are fine; panics are not
		_ = d.dispatch(ctx, second)
	})
}

// checkingHandler fails on a change the decoder should never hand over.
type checkingHandler struct{ t *testing.T }

func (h checkingHandler) Relation(context.Context, *Relation) error { return nil }
func (h checkingHandler) Begin(context.Context, Begin) error        { return nil }
func (h checkingHandler) Message(context.Context, Message) error    { return nil }
func (h checkingHandler) Commit(context.Context, Commit) error      { return nil }
func (h checkingHandler) Change(_ context.Context, c *Change) error {
	if c.Op != Truncate && c.Rel == nil {
		h.t.Fatalf("%s delivered without its relation", c.Op)
	}
	if c.Op != Truncate && (len(c.New) > 0 && len(c.New) != len(c.Rel.Columns) || len(c.Old) > 0 && len(c.Old) != len(c.Rel.Columns)) {
		h.t.Fatalf("%s on %s: tuple width differs from the relation's %d columns", c.Op, c.Rel.QualifiedName(), len(c.Rel.Columns))
	}
	for _, v := range append(append([]Value{}, c.Old...), c.New...) {
		if v.Kind != Null && v.Kind != Unchanged && v.Kind != Text && v.Kind != 'b' {
			h.t.Fatalf("value kind %q passed through", v.Kind)
		}
	}
	return nil
}
