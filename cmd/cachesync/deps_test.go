package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryLinksNoTestCode: the shipped binary links neither testing nor
// the test harness (test/...), whatever the demo shares with the suites.
func TestBinaryLinksNoTestCode(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || deps[len(deps)-1] != "github.com/cachesync/cachesync/cmd/cachesync" {
		t.Fatalf("go list -deps did not list cmd/cachesync's dependencies: %q", out)
	}
	for _, d := range deps {
		if d == "testing" || strings.HasPrefix(d, "testing/") || strings.HasPrefix(d, "github.com/cachesync/cachesync/test/") {
			t.Errorf("cachesync links %s", d)
		}
	}
}
