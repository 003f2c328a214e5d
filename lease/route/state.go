package route

import "fmt"

// State is a pool server's state as the region's sidecar reports it.
type State uint8

// States. Only StateUp may be served from: a server that is down, or back
// but still owed invalidations (catching up) or a flush, may hold values
// the database has since changed.
const (
	StateUp State = iota
	StateDown
	StateCatchingUp
	StateOwesFlush
)

var stateNames = [...]string{
	StateUp:         "up",
	StateDown:       "down",
	StateCatchingUp: "catching_up",
	StateOwesFlush:  "owes_flush",
}

// String is the state's name as gossiped: "up", "down", "catching_up" or
// "owes_flush".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", s)
}

// ParseState reads a gossiped state name.
func ParseState(name string) (State, error) {
	for s, n := range stateNames {
		if n == name {
			return State(s), nil
		}
	}
	return 0, fmt.Errorf("route: unknown server state %q (want up, down, catching_up or owes_flush)", name)
}
