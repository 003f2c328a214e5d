// Package fleet runs cachesync itself for the black-box suites: the
// shipped binary (cluster.Binary) as sidecars and proxies, and worlds of
// regions (a memcached, a sidecar and a proxy each), on the real servers of
// test/cluster.
//
// Guarantees:
//   - Every config file is cmd/config's Config, started from config.Default
//     and config.DefaultSource with the test's settings over it, and written
//     by config.Marshal: the same structs and encoder as the demo and
//     check-config. Nothing here writes a key by hand, so a file cannot
//     name a key the binary's strict loader refuses, and what a test leaves
//     out is the schema's default.
//   - Listen addresses a test leaves empty get free loopback ports, so tests
//     never collide.
//   - A Start* function returns only once the process answers /readyz, and
//     fails the test early, with the end of the process's output, if it
//     exits first. Readiness is polled, never slept for.
//   - Every process is killed and every file removed at t.Cleanup (through
//     test/cluster), and a failed test logs each process's output.
//
// This package imports cmd/config, which imports the libraries for their
// defaults; so the libraries' own (internal) tests use test/cluster only,
// and a test that runs the binary with a config lives under test/.
//
// Helpers fail on error with t.Fatalf, so they must be called from the
// test's goroutine.
package fleet
