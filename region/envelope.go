package region

import (
	"encoding/json"
	"fmt"
)

// User message tags. Unknown tags are ignored, so later versions can add
// message kinds.
const (
	// msgStatus is one status envelope.
	msgStatus byte = 's'
	// msgLeave is a leave intent: the node named in the rest of the
	// message is about to leave on purpose. memberlist reports a leave and
	// a death through the same event, so this is how the others tell them
	// apart.
	msgLeave byte = 'l'
)

// envelope is one node's status as gossiped. Seq orders the statuses of one
// origin: it is the origin's wall clock in nanoseconds when it sent, so it
// keeps increasing across the origin's restarts.
type envelope struct {
	Node   string     `json:"n"`
	Seq    int64      `json:"q"`
	Status NodeStatus `json:"s"`
}

func encodeEnvelope(e envelope) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode status of %s: %w", e.Node, err)
	}
	return append([]byte{msgStatus}, b...), nil
}

func decodeEnvelope(b []byte) (envelope, error) {
	var e envelope
	if len(b) == 0 || b[0] != msgStatus {
		return e, fmt.Errorf("not a status message")
	}
	if err := json.Unmarshal(b[1:], &e); err != nil {
		return e, fmt.Errorf("decode status: %w", err)
	}
	if e.Node == "" {
		return e, fmt.Errorf("decode status: no node name")
	}
	return e, nil
}

// pushState is the full status table exchanged in push/pull.
type pushState struct {
	Statuses []envelope `json:"st"`
}

func encodeLeave(node string) []byte {
	return append([]byte{msgLeave}, node...)
}
