// Package bench holds the benchmarks of the sidecar (make bench):
//
//   - BenchmarkDrain: for the same WAL backlog (one transaction of a million
//     rows; many small transactions from pgbench -N), the time pg_recvlogical
//     takes to drain it to /dev/null and the time `cachesync sidecar` takes to
//     drain it into memcached (until the slot's confirmed_flush_lsn reaches
//     the backlog's end), their ratio, and the sidecar's peak RSS.
//   - BenchmarkLiveTail: under a steady pgbench -N -R 300 load, the
//     commit-to-invalidated latency (p50/p99) from the sidecar's end-to-end
//     heartbeat lag.
//
// Each drain reads its own slot, both created before the backlog is written.
// The figures are printed and reported with b.ReportMetric; nothing here
// passes or fails on a clock.
//
// The package holds only benchmarks; this file exists for the documentation.
package bench
