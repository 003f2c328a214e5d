package cluster

// TB is the part of testing.TB the harness uses. *testing.T and *testing.B
// satisfy it; so can a program (cachesync demo) that starts the same servers
// outside a test, with its own failure and cleanup handling.
//
// Fatalf must not return to its caller (testing.TB stops the goroutine;
// other implementations panic), since the helpers rely on that.
type TB interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(f func())
	Failed() bool
}
