package faults

import "testing"

// worldLifetime is a scenario's t whose Cleanup belongs to the whole suite:
// a process a scenario restarts (sidecar, proxy) must outlive the scenario,
// since the next one runs on the same world.
type worldLifetime struct {
	*testing.T
	suite *testing.T
}

func (l worldLifetime) Cleanup(f func()) { l.suite.Cleanup(f) }
