package region

import "encoding/json"

// nodeMeta is what memberlist carries for a member in its alive messages.
// It is short on purpose: memberlist limits metadata to 512 bytes.
type nodeMeta struct {
	Region string `json:"r"`
	Role   string `json:"o"`
}

func encodeMeta(m nodeMeta) []byte {
	b, _ := json.Marshal(m) // two strings cannot fail to marshal
	return b
}

// decodeMeta tolerates garbage: a member of another version still shows,
// only without region and role.
func decodeMeta(b []byte) nodeMeta {
	var m nodeMeta
	_ = json.Unmarshal(b, &m)
	return m
}
