package demo

import (
	"fmt"

	"github.com/cachesync/cachesync/lease"
)

// newLeaseGetter connects a region's readers to its proxy with the Go client
// apps use (lease-get / lease-set).
func newLeaseGetter(addr string) (leaseGetter, func(), error) {
	c, err := lease.NewClient(addr, lease.WithMaxIdleConns(16))
	if err != nil {
		return nil, nil, fmt.Errorf("lease client for %s: %w", addr, err)
	}
	return c, func() { _ = c.Close() }, nil
}
