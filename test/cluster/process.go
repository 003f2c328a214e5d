package cluster

import (
	"fmt"

	"github.com/cachesync/cachesync/cmd/local"
)

// Process is a child process (typically the cachesync binary) whose output
// is captured; see local.Process for its methods.
type Process struct {
	*local.Process
}

// StartProcess runs bin with args, capturing stdout and stderr. It is killed
// at t.Cleanup, and its output is logged if the test failed.
func StartProcess(t TB, name string, bin string, args ...string) *Process {
	t.Helper()
	lp, err := local.StartProcess(name, bin, args)
	if err != nil {
		t.Fatalf("%v", err)
	}
	p := &Process{lp}
	closeAtCleanup(t, fmt.Sprintf("%s (pid %d) output", name, lp.Pid()), lp.Logs, lp.Close)
	return p
}
