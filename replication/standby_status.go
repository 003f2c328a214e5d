package replication

import (
	"encoding/binary"
	"time"
)

// pgEpoch is PostgreSQL's timestamp origin.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// encodeStandbyStatus builds a CopyData frame holding a standby status
// update. It is encoded here rather than with pglogrepl, which replaces a
// zero flush position by the write position and so would confirm what was
// merely received.
func encodeStandbyStatus(buf []byte, write, flush LSN, now time.Time, reply bool) []byte {
	const body = 1 + 8 + 8 + 8 + 8 + 1
	buf = append(buf[:0], 'd', 0, 0, 0, 0)
	binary.BigEndian.PutUint32(buf[1:], uint32(4+body))
	buf = append(buf, 'r')
	buf = binary.BigEndian.AppendUint64(buf, uint64(write))
	buf = binary.BigEndian.AppendUint64(buf, uint64(flush))
	buf = binary.BigEndian.AppendUint64(buf, uint64(flush)) // applied = flushed: we have no separate apply step
	buf = binary.BigEndian.AppendUint64(buf, uint64(now.Sub(pgEpoch).Microseconds()))
	r := byte(0)
	if reply {
		r = 1
	}
	return append(buf, r)
}
