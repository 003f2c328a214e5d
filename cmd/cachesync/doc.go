// Command cachesync keeps memcached consistent with PostgreSQL across
// regions: the sidecar invalidates, the proxy adds leases, and every node
// serves the fleet's dashboard. See DESIGN.md and README.md.
//
// This package is wiring only: flags, logging, signals, and the call into
// package node, which assembles the roles from the config file (package
// config). It guarantees that a config is validated completely before
// anything starts (every problem reported with its key), and that a role
// stops only after every goroutine it started has returned (exit 0 on
// SIGTERM or SIGINT). It is the only package that exits the process.
package main
