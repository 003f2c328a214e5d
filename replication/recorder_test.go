package replication

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// recorder is a Handler that keeps a text log of what it received and acks
// commits according to ackPolicy (nil: ack everything at once).
type recorder struct {
	mu        sync.Mutex
	events    []string
	commits   []Commit
	begins    []Begin
	changes   int
	messages  []Message
	stream    *Stream
	ackPolicy func(c Commit, txnEvents []string) bool
	txn       []string
	withheld  []Commit
}

func (r *recorder) Relation(_ context.Context, rel *Relation) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "REL "+rel.QualifiedName())
	return nil
}

func (r *recorder) Begin(_ context.Context, b Begin) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.begins = append(r.begins, b)
	r.txn = r.txn[:0]
	r.events = append(r.events, "BEGIN")
	return nil
}

func (r *recorder) Change(_ context.Context, c *Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes++
	if r.changes > 1000 { // large transactions: count only
		return nil
	}
	e := formatChange(c)
	r.events = append(r.events, e)
	r.txn = append(r.txn, e)
	return nil
}

func (r *recorder) Message(_ context.Context, m Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m.Content = append([]byte(nil), m.Content...) // valid only during the call
	r.messages = append(r.messages, m)
	e := fmt.Sprintf("MSG %s %v", m.Prefix, m.Transactional)
	r.events = append(r.events, e)
	r.txn = append(r.txn, e)
	return nil
}

func (r *recorder) Commit(_ context.Context, c Commit) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.commits = append(r.commits, c)
	r.events = append(r.events, "COMMIT")
	ack := r.ackPolicy == nil || r.ackPolicy(c, r.txn)
	if !ack || len(r.withheld) > 0 {
		// Acks stay in commit order: once one is withheld, later ones wait.
		r.withheld = append(r.withheld, c)
		return nil
	}
	r.stream.Ack(c.EndLSN)
	return nil
}

// release acks everything withheld.
func (r *recorder) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.withheld {
		r.stream.Ack(c.EndLSN)
	}
	r.withheld = nil
}

func (r *recorder) snapshot() (events []string, commits []Commit, changes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...), append([]Commit(nil), r.commits...), r.changes
}

func (r *recorder) has(event string) error {
	ev, _, _ := r.snapshot()
	for _, e := range ev {
		if e == event {
			return nil
		}
	}
	return fmt.Errorf("no %q in %d events (last: %v)", event, len(ev), tail(ev, 8))
}

func tail(s []string, n int) []string { return s[max(0, len(s)-n):] }

func formatChange(c *Change) string {
	if c.Op == Truncate {
		names := make([]string, len(c.Truncated))
		for i, r := range c.Truncated {
			names[i] = r.QualifiedName()
		}
		return "TRUNCATE " + strings.Join(names, ",")
	}
	s := c.Op.String() + " " + c.Rel.QualifiedName()
	if c.Old != nil {
		kind := "old"
		if c.OldIsKey {
			kind = "key"
		}
		s += " " + kind + "=" + formatTuple(c.Old)
	}
	if c.New != nil {
		s += " new=" + formatTuple(c.New)
	}
	return s
}

func formatTuple(vs []Value) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		switch v.Kind {
		case Null:
			parts[i] = "NULL"
		case Unchanged:
			parts[i] = "?"
		default:
			parts[i] = string(v.Data)
		}
	}
	return "(" + strings.Join(parts, ",") + ")"
}
