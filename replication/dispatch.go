package replication

import (
	"context"
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
	// release is called when a Commit gets past a held position.
	release func()
	// final is the open transaction's commit LSN (0 outside one).
	final LSN
}

// position names where the stream is for a hold: the open transaction's
// commit LSN, or the message's own position outside a transaction.
func (d *dispatcher) position(msgPos LSN) LSN {
	if d.final != 0 {
		return d.final
	}
	return msgPos
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
	case 'B':
		b, err := decodeBegin(data)
		if err != nil {
			return malformed(data, err)
		}
		d.tr.begin()
		d.final = b.FinalLSN
		if err := d.h.Begin(ctx, b); err != nil {
			return fmt.Errorf("handle Begin: %w", err)
		}
		return nil
	case 'C':
		c, err := decodeCommit(data)
		if err != nil {
			return malformed(data, err)
		}
		// Recorded before the handler sees it: the handler may ack inside.
		prev := d.tr.commit(c.EndLSN)
		d.final = 0
		d.m.transactions.Inc()
		if err := d.h.Commit(ctx, c); err != nil {
			d.tr.withdraw(c.EndLSN, prev)
			return fmt.Errorf("handle Commit: %w", err)
		}
		if d.tr.pastHold(c.CommitLSN, true) && d.release != nil {
			d.release()
		}
		return nil
	case 'T':
		ids, err := truncateIDs(data)
		if err != nil {
			return malformed(data, err)
		}
		c, err := d.dec.truncate(ids)
		if err != nil {
			return fmt.Errorf("decode truncate: %w", err)
		}
		d.m.changes.Inc()
		if err := d.h.Change(ctx, c); err != nil {
			return fmt.Errorf("handle Truncate: %w", err)
		}
		return nil
	}
	msg, err := parseMessage(data)
	if err != nil {
		return malformed(data, err)
	}
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		err = d.h.Relation(ctx, d.dec.relation(m))
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

func malformed(data []byte, err error) error {
	return fmt.Errorf("decode pgoutput message %q: %w", data[0], err)
}

// parseMessage is pglogrepl.Parse made safe: its decoders index into the
// message without bounds checks (found by FuzzDispatch: a truncated Relation
// message panics), and a corrupt stream must end the session with an error,
// not crash the sidecar.
func parseMessage(data []byte) (msg pglogrepl.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("malformed message (%d bytes): %v", len(data), r)
		}
	}()
	return pglogrepl.Parse(data)
}
