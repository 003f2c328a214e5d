package replication

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/jackc/pglogrepl"
)

type col struct {
	kind byte
	data string
}

func tuple(cols ...col) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(cols)))
	for _, c := range cols {
		b = append(b, c.kind)
		if c.kind == 't' {
			b = binary.BigEndian.AppendUint32(b, uint32(len(c.data)))
			b = append(b, c.data...)
		}
	}
	return b
}

func rowMsg(kind byte, rel uint32, parts ...[]byte) []byte {
	b := binary.BigEndian.AppendUint32([]byte{kind}, rel)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func testDecoder() *decoder {
	d := newDecoder()
	d.relation(&pglogrepl.RelationMessage{RelationID: 7, Namespace: "public", RelationName: "users", ReplicaIdentity: 'd',
		Columns: []*pglogrepl.RelationMessageColumn{{Flags: 1, Name: "id", DataType: 23}, {Name: "name", DataType: 25}}})
	return d
}

func TestDecodeUpdateWithKeyMatchesPglogrepl(t *testing.T) {
	old := tuple(col{'t', "1"}, col{'n', ""})
	nw := tuple(col{'t', "2"}, col{'t', "bob"})
	msg := rowMsg('U', 7, []byte{'K'}, old, []byte{'N'}, nw)
	c, err := testDecoder().row(msg)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := pglogrepl.Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	u := ref.(*pglogrepl.UpdateMessage)
	if c.Op != Update || !c.OldIsKey || c.Rel.QualifiedName() != "public.users" {
		t.Fatalf("got %+v", c)
	}
	compare(t, "old", c.Old, u.OldTuple)
	compare(t, "new", c.New, u.NewTuple)
}

func compare(t *testing.T, what string, got []Value, want *pglogrepl.TupleData) {
	t.Helper()
	if len(got) != len(want.Columns) {
		t.Fatalf("%s: %d columns, want %d", what, len(got), len(want.Columns))
	}
	for i, w := range want.Columns {
		if byte(got[i].Kind) != w.DataType || !bytes.Equal(got[i].Data, w.Data) {
			t.Fatalf("%s[%d] = %c %q, want %c %q", what, i, got[i].Kind, got[i].Data, w.DataType, w.Data)
		}
	}
}

func TestDecodeInsertDeleteFull(t *testing.T) {
	d := testDecoder()
	c, err := d.row(rowMsg('I', 7, []byte{'N'}, tuple(col{'t', "1"}, col{'u', ""})))
	if err != nil || c.Op != Insert || c.Old != nil || len(c.New) != 2 || c.New[1].Kind != Unchanged {
		t.Fatalf("insert: %+v %v", c, err)
	}
	c, err = d.row(rowMsg('D', 7, []byte{'O'}, tuple(col{'t', "1"}, col{'t', "ann"})))
	if err != nil || c.Op != Delete || c.OldIsKey || string(c.Old[1].Data) != "ann" || c.New != nil {
		t.Fatalf("delete: %+v %v", c, err)
	}
	c, err = d.row(rowMsg('U', 7, []byte{'N'}, tuple(col{'t', "1"}, col{'t', "x"})))
	if err != nil || c.Old != nil || string(c.New[1].Data) != "x" {
		t.Fatalf("update without old: %+v %v", c, err)
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	d := testDecoder()
	good := rowMsg('I', 7, []byte{'N'}, tuple(col{'t', "hello"}))
	for n := 6; n < len(good); n++ {
		if _, err := d.row(good[:n]); err == nil {
			t.Fatalf("truncated at %d accepted", n)
		}
	}
	if _, err := d.row(rowMsg('I', 99, []byte{'N'}, tuple())); err == nil {
		t.Fatal("unknown relation accepted")
	}
	if _, err := d.row(rowMsg('I', 7, []byte{'N'}, []byte{0, 1, 'z'})); err == nil {
		t.Fatal("unknown column kind accepted")
	}
}

func TestDecodeRowDoesNotAllocate(t *testing.T) {
	d := testDecoder()
	msg := rowMsg('U', 7, []byte{'O'}, tuple(col{'t', "1"}, col{'t', "a"}), []byte{'N'}, tuple(col{'t', "1"}, col{'t', "b"}))
	if _, err := d.row(msg); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := d.row(msg); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per row", allocs)
	}
}

func TestRelationReplacedNotMutated(t *testing.T) {
	d := testDecoder()
	first := d.rels[7]
	d.relation(&pglogrepl.RelationMessage{RelationID: 7, Namespace: "public", RelationName: "users2"})
	if first.Name != "users" || d.rels[7].Name != "users2" {
		t.Fatalf("first=%s now=%s", first.Name, d.rels[7].Name)
	}
}
