package invalidator

import (
	"time"

	"github.com/cachesync/cachesync/replication"
)

type heartbeat struct {
	node string
	sent time.Time
}

func parseHeartbeat(content []byte) (heartbeat, bool) {
	node, sent, ok := replication.ParseHeartbeat(content)
	return heartbeat{node: node, sent: sent}, ok
}
