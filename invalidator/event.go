package invalidator

import (
	"time"

	"github.com/cachesync/cachesync/replication"
)

type eventKind uint8

const (
	evKey       eventKind = iota // a key to invalidate
	evCommit                     // the transaction's last event
	evHeartbeat                  // a heartbeat to report once delivered
	evFlush                      // flush_all every server (TRUNCATE with "flush")
)

// txn is what the delivery loop knows of a transaction. Its fields never
// change after Begin, so the loop may read them through any event.
type txn struct {
	final      replication.LSN
	xid        uint32
	commitTime time.Time
}

// event is one entry of the bounded queue between the Handler calls and the
// delivery loop. The queue's order is commit order, which is what makes
// in-order acks a matter of delivering batches one after the other.
type event struct {
	kind eventKind
	key  string
	tx   *txn
	end  replication.LSN // evCommit
	hb   heartbeat       // evHeartbeat
}

// queueChunk is how many events travel through the queue together.
const queueChunk = 64
