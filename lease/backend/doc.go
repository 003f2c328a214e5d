// Package backend keeps a few long-lived, pipelined connections to each
// memcached server of a pool.
//
// Guarantees:
//   - Requests from many callers are written back to back on a shared
//     connection: the caller that finds nobody writing writes, after
//     yielding to the callers already runnable so they queue theirs too,
//     everything queued in one flush (one syscall); replies are matched to
//     requests in order.
//   - Every submitted Op completes exactly once: with its reply, with a
//     timeout error (no reply within Config.Timeout tears the connection
//     down), or with ErrServerDown.
//   - A server whose connection fails is marked down at once; while down,
//     Ops fail immediately instead of waiting, and the server is redialled
//     every ProbeInterval until it answers again. A connection carries
//     requests only once the server answered "version" on it, so a frozen
//     server (SIGSTOP: the kernel still accepts) stays down; Config.OnChange
//     hears every change.
//   - Run returns only after every goroutine it started has exited (a
//     writer goroutine taking over a long queue from a caller included).
package backend
