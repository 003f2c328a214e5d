package cluster

// LogTailLines is how much of a server's log a failed test shows.
const LogTailLines = 50

// closeAtCleanup closes a server or process when the test ends, after
// writing what logs returns (its log's tail) if the test failed; a failure
// to close fails the test.
func closeAtCleanup(t TB, label string, logs func() string, close func() error) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s:\n%s", label, logs())
		}
		if err := close(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
}
