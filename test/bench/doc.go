// Package bench holds the benchmarks of the sidecar and the proxy (make bench):
//
//   - BenchmarkDrain: for the same WAL backlog (one transaction of a million
//     rows; many small transactions from pgbench -N), the time pg_recvlogical
//     takes to drain it to /dev/null and the time `cachesync sidecar` takes to
//     drain it into memcached (until the slot's confirmed_flush_lsn reaches
//     the backlog's end), their ratio, both CPU times (and the sidecar's
//     CPU up to streaming), and the sidecar's peak RSS.
//   - BenchmarkLiveTail: at the primary's full write rate (pgbench updating
//     random rows of 100k with 8 clients, at -R 10000 and unthrottled), for
//     pg_recvlogical, a sidecar reading the primary and a sidecar gated on
//     a replica: tps, commit-to-invalidated p50/p99/max measured from
//     outside on marker rows, the walsender's unsent WAL, the replica's
//     replay lag and the sidecar's CPU. BENCH_PPROF_DIR saves CPU profiles
//     (live tail unthrottled, drains).
//   - BenchmarkMemcaslap: memcaslap's throughput against memcached directly,
//     through twemproxy and through `cachesync proxy` as shipped (also with
//     --procs 0 and with classic_leases: false), in a palindromic order, with
//     each process's CPU per op.
//
// Each drain reads its own slot, both created before the backlog is written.
// The figures are printed and reported with b.ReportMetric; nothing here
// passes or fails on a clock.
//
// The package holds only benchmarks; this file exists for the documentation.
package bench
