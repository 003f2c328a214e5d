package region

import "time"

// Member states, as Fleet reports them.
const (
	StateAlive   = "alive"
	StateSuspect = "suspect"
	StateDead    = "dead"
	StateLeft    = "left"
)

// isGone reports whether a member in state has departed: dead or left.
func isGone(state string) bool { return state == StateDead || state == StateLeft }

// Member is one node of the fleet as this node sees it.
type Member struct {
	Name   string `json:"name"`
	Region string `json:"region"`
	Role   string `json:"role"`
	// Addr is the member's gossip address.
	Addr string `json:"addr"`
	// State is "alive", "suspect", "dead" or "left".
	State string `json:"state"`
	// Status is the last status the member gossiped; nil when none arrived.
	Status *NodeStatus `json:"status,omitempty"`
	// LastSeen is when this node last heard from the member.
	LastSeen time.Time `json:"last_seen"`
}
