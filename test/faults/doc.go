// Package faults is the fault suite: a workload of writers on the primary
// and read-through readers in two regions (east reads the primary, west a
// streaming replica), one fault injected per scenario, then quiescence
// (every region has confirmed the final LSN) and the consistency checker
// (invalidator/audit). Each scenario must end with zero inconsistent keys;
// the suite prints a table of operations, staleness p99/max and
// inconsistencies per scenario. Two scenarios run on a region started for
// them alone: north (three memcached servers and a gutter) and south (its
// own primary and replica, for the failover onto the lagging replica).
package faults
