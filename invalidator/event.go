package invalidator

import (
	"sync"
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
	hb   *heartbeat      // evHeartbeat (rare: a pointer keeps event small)
}

// queueChunk is how many events travel through the queue together.
const queueChunk = 64

// chunkPool recycles the queue's chunks: the handler takes one per chunk it
// fills, the delivery loop puts it back once every event of it is in a batch
// (the batch keeps copies, nothing that points into the chunk).
var chunkPool = sync.Pool{New: func() any { return new([queueChunk]event) }}

// getChunk returns an empty chunk with room for queueChunk events.
func getChunk() []event { return chunkPool.Get().(*[queueChunk]event)[:0] }

// putChunk recycles a chunk from getChunk; nothing may use it afterwards.
func putChunk(c []event) {
	a := (*[queueChunk]event)(c[:queueChunk])
	clear(a[:]) // drop the keys and transactions it references
	chunkPool.Put(a)
}
