package replication

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/jackc/pglogrepl"
)

// dispatcher hands one decoded pgoutput message at a time to the Handler,
// keeping the tracker informed of transaction boundaries.
type dispatcher struct {
	dec *decoder
	h   Handler
	tr  *tracker
	m   *streamMetrics
}

func (d *dispatcher) dispatch(ctx context.Context, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	switch data[0] {
	case 'I', 'U', 'D':
		c, err := d.dec.row(data)
		if err != nil {
			return fmt.Errorf("decode change: %w", err)
		}
		d.m.changes.Inc()
		if err := d.h.Change(ctx, c); err != nil {
			return fmt.Errorf("handle %s on %s: %w", c.Op, c.Rel.QualifiedName(), err)
		}
		return nil
	}
	msg, err := parseMessage(data)
	if err != nil {
		return fmt.Errorf("decode pgoutput message %q: %w", data[0], err)
	}
	switch m := msg.(type) {
	case *pglogrepl.BeginMessage:
		d.tr.begin()
		err = d.h.Begin(ctx, Begin{FinalLSN: m.FinalLSN, Xid: m.Xid, CommitTime: m.CommitTime})
	case *pglogrepl.CommitMessage:
		// Recorded before the handler sees it: the handler may ack inside.
		d.tr.commit(m.TransactionEndLSN)
		d.m.transactions.Inc()
		err = d.h.Commit(ctx, Commit{CommitLSN: m.CommitLSN, EndLSN: m.TransactionEndLSN, CommitTime: m.CommitTime})
	case *pglogrepl.RelationMessage:
		err = d.h.Relation(ctx, d.dec.relation(m))
	case *pglogrepl.TruncateMessage:
		c, derr := d.dec.truncate(m)
		if derr != nil {
			return fmt.Errorf("decode truncate: %w", derr)
		}
		d.m.changes.Inc()
		err = d.h.Change(ctx, c)
	case *pglogrepl.LogicalDecodingMessage:
		err = d.h.Message(ctx, Message{Transactional: m.Transactional, LSN: m.LSN, Prefix: m.Prefix, Content: m.Content})
	default:
		// Type and Origin messages carry nothing the handler needs.
		return nil
	}
	if err != nil {
		return fmt.Errorf("handle %s: %w", msg.Type(), err)
	}
	return nil
}

// parseMessage is pglogrepl.Parse made safe: its decoders index into the
// message without bounds checks (found by FuzzDispatch: a truncated Relation
// message panics), and a corrupt stream must end the session with an error,
// not crash the sidecar.
func parseMessage(data []byte) (msg pglogrepl.Message, err error) {
	// A Truncate message's relation count sizes an allocation before the
	// decoder checks the message holds that many IDs: 0xc3c3c3c3 asked for
	// 13 GiB under FuzzDispatch.
	if len(data) >= 5 && data[0] == 'T' {
		if n := binary.BigEndian.Uint32(data[1:5]); uint64(len(data)) < 6+4*uint64(n) {
			return nil, fmt.Errorf("malformed truncate: %d relations in %d bytes", n, len(data))
		}
	}
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("malformed message (%d bytes): %v", len(data), r)
		}
	}()
	return pglogrepl.Parse(data)
}
