package cluster

// TB is the part of testing.TB the harness uses; *testing.T and *testing.B
// satisfy it.
//
// Fatalf must not return to its caller (testing.TB stops the goroutine),
// since the helpers rely on that.
type TB interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(f func())
	Failed() bool
}
