// Package memclient is a small memcached text-protocol client for the
// programs around the proxy: the invalidator's deliveries, the checker's and
// the consistency monitor's reads, the test harness's key client. It speaks
// the meta commands (mg, md, mn) and the few classic ones they need (set,
// flush_all, version). The proxy's own pooled connections are lease/backend.
//
// Guarantees:
//   - A Conn is one TCP connection used by one goroutine at a time. Every
//     call is one request/response round under the Conn's timeout, and ctx
//     interrupts blocked IO.
//   - Pipelined calls (Invalidate, MetaGet, Set) write at most Chunk
//     commands before reading their replies, so neither side's socket buffer
//     can fill while the other waits.
//   - Invalidate sends quiet md commands ending in mn: it returns nil only
//     after memcached answered MN, with every key deleted, marked stale or
//     already absent.
//   - Reply headers are parsed by lease/memproto (ParseMetaReply), the same
//     parser the proxy uses.
//   - After any error the reply stream can no longer be matched to commands,
//     so the Conn is closed and every later call returns ErrClosed; callers
//     that keep a connection dial a new one.
package memclient
