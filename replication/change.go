package replication

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
)

// LSN is a PostgreSQL write-ahead log position.
type LSN = pglogrepl.LSN

// Op is the kind of a row change.
type Op uint8

const (
	Insert Op = iota + 1
	Update
	Delete
	Truncate
)

func (o Op) String() string {
	switch o {
	case Insert:
		return "INSERT"
	case Update:
		return "UPDATE"
	case Delete:
		return "DELETE"
	case Truncate:
		return "TRUNCATE"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Column describes one column of a relation as pgoutput sends it.
type Column struct {
	Name    string
	TypeOID uint32
	// TypeMod is the type modifier (atttypmod: a numeric's precision and
	// scale, a varchar's length), -1 when there is none.
	TypeMod int32
	// Key is true when the column is part of the replica identity, so an
	// UPDATE or DELETE carries its old value even with REPLICA IDENTITY DEFAULT.
	Key bool
}

// Relation is a table as last described by a pgoutput Relation message.
type Relation struct {
	ID        uint32
	Namespace string
	Name      string
	// ReplicaIdentity is pgoutput's setting: 'd' default, 'n' nothing,
	// 'f' full, 'i' index.
	ReplicaIdentity byte
	Columns         []Column
}

// Table is the relation's name.
func (r *Relation) Table() Table { return Table{Schema: r.Namespace, Name: r.Name} }

// QualifiedName is schema.table as SQL (quoted where needed).
func (r *Relation) QualifiedName() string { return r.Table().String() }

// ValueKind says what a tuple column carries.
type ValueKind byte

const (
	Null      ValueKind = 'n'
	Unchanged ValueKind = 'u' // an unchanged TOASTed value: not sent
	Text      ValueKind = 't'
)

// Value is one column of a tuple in PostgreSQL's text form.
type Value struct {
	Kind ValueKind
	Data []byte
}

// Change is one row change (or a TRUNCATE) inside a committed transaction.
// Its byte slices are only valid during the Handler call that receives it.
type Change struct {
	Op  Op
	Rel *Relation
	// Old is set for UPDATE and DELETE when the replica identity provides it
	// (the key columns, or the whole row with REPLICA IDENTITY FULL).
	// OldIsKey is true when Old holds only the identity's key columns.
	Old      []Value
	OldIsKey bool
	// New is set for INSERT and UPDATE.
	New []Value
	// Truncated lists the relations of a TRUNCATE.
	Truncated []*Relation
}

// Begin opens a transaction. FinalLSN is where its commit record starts.
type Begin struct {
	FinalLSN   LSN
	Xid        uint32
	CommitTime time.Time
}

// Commit closes a transaction. EndLSN is the position to confirm once every
// change of the transaction has been handled.
type Commit struct {
	CommitLSN  LSN
	EndLSN     LSN
	CommitTime time.Time
}

// Message is a logical decoding message (pg_logical_emit_message).
type Message struct {
	Transactional bool
	LSN           LSN
	Prefix        string
	Content       []byte
}

// Handler receives a slot's committed transactions in commit order. Calls are
// made from one goroutine. A handler acknowledges a transaction later, through
// the Stream's Ack, once its effect is durable; it may block to apply
// back-pressure.
type Handler interface {
	Relation(ctx context.Context, rel *Relation) error
	Begin(ctx context.Context, b Begin) error
	Change(ctx context.Context, c *Change) error
	Message(ctx context.Context, m Message) error
	Commit(ctx context.Context, c Commit) error
}
