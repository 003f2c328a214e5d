// Command cachesync keeps memcached consistent with PostgreSQL across
// regions: the sidecar invalidates, the proxy adds leases, and every node
// serves the fleet's dashboard. See DESIGN.md and README.md.
//
// This package is wiring only: flags, the config file, logging, signals.
// It guarantees that a config is validated completely before anything
// starts (every problem reported with its key), that no password from a
// DSN reaches a log line or status page, and that a role stops only after
// every goroutine it started has returned (exit 0 on SIGTERM or SIGINT).
// It is the only package that exits the process.
package main
