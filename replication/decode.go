package replication

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jackc/pglogrepl"
)

// decoder turns pgoutput v1 messages into Relations and Changes. Row
// messages are decoded here, without allocating: a Change and its Values
// are reused and point into the message buffer, which is why a Change is
// valid only during the Handler call.
type decoder struct {
	rels   map[uint32]*Relation
	change Change
	old    []Value
	new    []Value
	trunc  []*Relation
}

func newDecoder() *decoder { return &decoder{rels: make(map[uint32]*Relation)} }

var errShort = errors.New("message too short")

// relation records a Relation message. A new *Relation is made each time so
// that a handler keeping an older one never sees it change under it.
func (d *decoder) relation(m *pglogrepl.RelationMessage) *Relation {
	rel := &Relation{
		ID:              m.RelationID,
		Namespace:       m.Namespace,
		Name:            m.RelationName,
		ReplicaIdentity: m.ReplicaIdentity,
		Columns:         make([]Column, len(m.Columns)),
	}
	for i, c := range m.Columns {
		rel.Columns[i] = Column{Name: c.Name, TypeOID: c.DataType, Key: c.Flags&1 != 0}
	}
	d.rels[rel.ID] = rel
	return rel
}

func (d *decoder) lookup(id uint32) (*Relation, error) {
	rel, ok := d.rels[id]
	if !ok {
		return nil, fmt.Errorf("change for unknown relation id %d (no Relation message seen)", id)
	}
	return rel, nil
}

// row decodes an Insert ('I'), Update ('U') or Delete ('D') message.
func (d *decoder) row(src []byte) (*Change, error) {
	if len(src) < 6 {
		return nil, errShort
	}
	kind := src[0]
	rel, err := d.lookup(binary.BigEndian.Uint32(src[1:]))
	if err != nil {
		return nil, err
	}
	c := &d.change
	*c = Change{Rel: rel}
	p := src[5:]
	switch kind {
	case 'I':
		c.Op = Insert
	case 'U':
		c.Op = Update
	case 'D':
		c.Op = Delete
	}
	if kind != 'I' && (p[0] == 'K' || p[0] == 'O') {
		c.OldIsKey = p[0] == 'K'
		var n int
		d.old, n, err = decodeTuple(p[1:], d.old[:0])
		if err != nil {
			return nil, fmt.Errorf("%s old tuple of %s: %w", c.Op, rel.QualifiedName(), err)
		}
		if len(d.old) != len(rel.Columns) {
			return nil, fmt.Errorf("%s old tuple of %s: %d columns, relation has %d", c.Op, rel.QualifiedName(), len(d.old), len(rel.Columns))
		}
		c.Old = d.old
		p = p[1+n:]
	}
	if kind == 'D' {
		if c.Old == nil {
			return nil, fmt.Errorf("DELETE of %s without old tuple", rel.QualifiedName())
		}
		return c, nil
	}
	if len(p) == 0 || p[0] != 'N' {
		return nil, fmt.Errorf("%s of %s: expected new tuple", c.Op, rel.QualifiedName())
	}
	d.new, _, err = decodeTuple(p[1:], d.new[:0])
	if err != nil {
		return nil, fmt.Errorf("%s new tuple of %s: %w", c.Op, rel.QualifiedName(), err)
	}
	// pgoutput sends every column of the relation in every tuple; a
	// mismatch would make a consumer read the wrong column's value.
	if len(d.new) != len(rel.Columns) {
		return nil, fmt.Errorf("%s new tuple of %s: %d columns, relation has %d", c.Op, rel.QualifiedName(), len(d.new), len(rel.Columns))
	}
	c.New = d.new
	return c, nil
}

func (d *decoder) truncate(m *pglogrepl.TruncateMessage) (*Change, error) {
	d.trunc = d.trunc[:0]
	for _, id := range m.RelationIDs {
		rel, err := d.lookup(id)
		if err != nil {
			return nil, err
		}
		d.trunc = append(d.trunc, rel)
	}
	c := &d.change
	*c = Change{Op: Truncate, Truncated: d.trunc}
	if len(d.trunc) > 0 {
		c.Rel = d.trunc[0]
	}
	return c, nil
}

// decodeTuple appends the columns of a TupleData to buf; the Values point
// into src. It returns the bytes consumed.
func decodeTuple(src []byte, buf []Value) ([]Value, int, error) {
	if len(src) < 2 {
		return buf, 0, errShort
	}
	n := int(binary.BigEndian.Uint16(src))
	p := 2
	for range n {
		if p >= len(src) {
			return buf, 0, errShort
		}
		kind := src[p]
		p++
		switch kind {
		case 'n':
			buf = append(buf, Value{Kind: Null})
		case 'u':
			buf = append(buf, Value{Kind: Unchanged})
		case 't', 'b':
			if p+4 > len(src) {
				return buf, 0, errShort
			}
			l := int(binary.BigEndian.Uint32(src[p:]))
			p += 4
			if l < 0 || p+l > len(src) {
				return buf, 0, errShort
			}
			buf = append(buf, Value{Kind: ValueKind(kind), Data: src[p : p+l : p+l]})
			p += l
		default:
			return buf, 0, fmt.Errorf("unknown tuple column kind %q", kind)
		}
	}
	return buf, p, nil
}
