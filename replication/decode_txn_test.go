package replication

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/jackc/pglogrepl"
)

// TestDecodeBeginCommitTruncateMatchPglogrepl checks the hand decoders
// against pglogrepl.Parse, values and length errors alike.
func TestDecodeBeginCommitTruncateMatchPglogrepl(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	random := func(kind byte, n int) []byte {
		b := []byte{kind}
		for range n {
			b = append(b, byte(r.Uint32()))
		}
		return b
	}
	for n := range 40 {
		for range 20 {
			msg := random('B', n)
			got, err := decodeBegin(msg)
			ref, rerr := pglogrepl.Parse(msg)
			if (err == nil) != (rerr == nil) || err != nil && err.Error() != rerr.Error() {
				t.Fatalf("begin %x: %v, pglogrepl %v", msg, err, rerr)
			}
			if err == nil {
				m := ref.(*pglogrepl.BeginMessage)
				if got != (Begin{FinalLSN: m.FinalLSN, Xid: m.Xid, CommitTime: m.CommitTime}) {
					t.Fatalf("begin %x: %+v, pglogrepl %+v", msg, got, m)
				}
			}

			msg = random('C', n)
			gotC, err := decodeCommit(msg)
			ref, rerr = pglogrepl.Parse(msg)
			if (err == nil) != (rerr == nil) || err != nil && err.Error() != rerr.Error() {
				t.Fatalf("commit %x: %v, pglogrepl %v", msg, err, rerr)
			}
			if err == nil {
				m := ref.(*pglogrepl.CommitMessage)
				if gotC != (Commit{CommitLSN: m.CommitLSN, EndLSN: m.TransactionEndLSN, CommitTime: m.CommitTime}) {
					t.Fatalf("commit %x: %+v, pglogrepl %+v", msg, gotC, m)
				}
			}

			// Truncate with a count the message can hold.
			msg = random('T', n)
			if len(msg) >= 5 {
				binary.BigEndian.PutUint32(msg[1:], uint32(r.IntN(max(1, (len(msg)-6)/4+1))))
			}
			ids, err := truncateIDs(msg)
			if len(msg) >= 5 && uint64(len(msg)) < 6+4*uint64(binary.BigEndian.Uint32(msg[1:])) {
				// The count check answers first (as it did before Parse).
				if err == nil {
					t.Fatalf("truncate %x accepted", msg)
				}
				continue
			}
			ref, rerr = pglogrepl.Parse(msg)
			if (err == nil) != (rerr == nil) || err != nil && err.Error() != rerr.Error() {
				t.Fatalf("truncate %x: %v, pglogrepl %v", msg, err, rerr)
			}
			if err == nil {
				m := ref.(*pglogrepl.TruncateMessage)
				if len(ids) != 4*len(m.RelationIDs) {
					t.Fatalf("truncate %x: %d id bytes, pglogrepl %v", msg, len(ids), m.RelationIDs)
				}
				for i, id := range m.RelationIDs {
					if binary.BigEndian.Uint32(ids[4*i:]) != id {
						t.Fatalf("truncate %x: ids %x, pglogrepl %v", msg, ids, m.RelationIDs)
					}
				}
			}
		}
	}
	if _, err := truncateIDs([]byte{'T', 0xc3, 0xc3, 0xc3, 0xc3, 0, 0, 0, 0, 7}); err == nil || err.Error() != "malformed truncate: 3284386755 relations in 10 bytes" {
		t.Fatalf("oversized count: %v", err)
	}
}
