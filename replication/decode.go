package replication

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

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
		rel.Columns[i] = Column{Name: c.Name, TypeOID: c.DataType, TypeMod: c.TypeModifier, Key: c.Flags&1 != 0}
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
		d.old, n, err = relTuple(p[1:], d.old[:0], c.Op, rel, "old")
		if err != nil {
			return nil, err
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
	d.new, _, err = relTuple(p[1:], d.new[:0], c.Op, rel, "new")
	if err != nil {
		return nil, err
	}
	c.New = d.new
	return c, nil
}

// relTuple decodes the which ("old" or "new") tuple of an op on rel, like
// decodeTuple, and checks it has the relation's columns: pgoutput sends
// every column of the relation in every tuple, and a mismatch would make a
// consumer read the wrong column's value.
func relTuple(src []byte, buf []Value, op Op, rel *Relation, which string) ([]Value, int, error) {
	buf, n, err := decodeTuple(src, buf)
	if err != nil {
		return buf, 0, fmt.Errorf("%s %s tuple of %s: %w", op, which, rel.QualifiedName(), err)
	}
	if len(buf) != len(rel.Columns) {
		return buf, 0, fmt.Errorf("%s %s tuple of %s: %d columns, relation has %d", op, which, rel.QualifiedName(), len(buf), len(rel.Columns))
	}
	return buf, n, nil
}

// truncate makes the Change of a Truncate message from its relation ids
// (see truncateIDs).
func (d *decoder) truncate(ids []byte) (*Change, error) {
	d.trunc = d.trunc[:0]
	for i := 0; i+4 <= len(ids); i += 4 {
		rel, err := d.lookup(binary.BigEndian.Uint32(ids[i:]))
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

// Begin, Commit and Truncate messages are decoded here rather than with
// pglogrepl.Parse, which allocates a message per call, and whose decoders
// index without bounds checks. Length errors read like pglogrepl's.

// decodeBegin decodes a Begin ('B') message: final LSN, commit time, xid.
func decodeBegin(data []byte) (Begin, error) {
	if len(data) < 1+20 {
		return Begin{}, lengthError("BeginMessage", 20, len(data)-1)
	}
	b := data[1:]
	return Begin{
		FinalLSN:   LSN(binary.BigEndian.Uint64(b)),
		CommitTime: pgTime(b[8:]),
		Xid:        binary.BigEndian.Uint32(b[16:]),
	}, nil
}

// decodeCommit decodes a Commit ('C') message: flags (unused), commit LSN,
// end LSN, commit time.
func decodeCommit(data []byte) (Commit, error) {
	if len(data) < 1+25 {
		return Commit{}, lengthError("CommitMessage", 25, len(data)-1)
	}
	b := data[2:] // after the flags
	return Commit{
		CommitLSN:  LSN(binary.BigEndian.Uint64(b)),
		EndLSN:     LSN(binary.BigEndian.Uint64(b[8:])),
		CommitTime: pgTime(b[16:]),
	}, nil
}

// truncateIDs checks a Truncate ('T') message (relation count, options,
// relation ids) and returns its relation ids, 4 bytes each.
func truncateIDs(data []byte) ([]byte, error) {
	// The count is checked against the message before anything is sized
	// by it: 0xc3c3c3c3 relations would be 13 GiB of ids.
	if len(data) >= 5 {
		if n := binary.BigEndian.Uint32(data[1:5]); uint64(len(data)) < 6+4*uint64(n) {
			return nil, fmt.Errorf("malformed truncate: %d relations in %d bytes", n, len(data))
		}
	}
	if len(data) < 1+9 {
		return nil, lengthError("TruncateMessage", 9, len(data)-1)
	}
	n := int(binary.BigEndian.Uint32(data[1:5]))
	return data[6 : 6+4*n], nil
}

func lengthError(name string, want, got int) error {
	return fmt.Errorf("%s must have %d bytes, got %d bytes", name, want, got)
}

// microsecFromUnixEpochToY2K is PostgreSQL's epoch (2000-01-01) in Unix
// microseconds.
const microsecFromUnixEpochToY2K int64 = 946684800 * 1000000

// pgTime converts a timestamp (microseconds since 2000-01-01) exactly as
// pglogrepl does.
func pgTime(b []byte) time.Time {
	return time.Unix(0, (microsecFromUnixEpochToY2K+int64(binary.BigEndian.Uint64(b)))*1000)
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
