// Package sockio reads and writes the proxy's TCP sockets with raw system
// calls instead of the runtime's syscall wrappers.
//
// Go's sockets are non-blocking, so read and write return at once with data
// or EAGAIN; only the wait for readiness needs the runtime, and that still
// goes through the netpoller (syscall.RawConn). What the raw calls leave
// out is the scheduler's bookkeeping around a possibly blocking call: the
// P handed off when a call takes longer than a sysmon tick, and sysmon
// woken from its deep sleep by the first call after an idle moment. A
// proxy makes two or three short calls per request. Measured under
// memcaslap -c 32 on 2 cores: sysmon's wakeups alone were 11% of the
// proxy's CPU; with raw calls context switches fell from 0.18 to 0.06 per
// request, and the proxy's CPU per request by about 10% with one scheduler
// thread and 25% with two.
//
// On systems other than Linux, Wrap returns the connection unchanged.
//
// Guarantees: a Conn behaves as the net.Conn it wraps for Read and Write
// (deadlines, Close from another goroutine, io.EOF at the end of the
// stream); Read returns at most one read(2)'s worth, Write returns only
// when everything is written or an error occurred. One goroutine may read
// while another writes; two concurrent readers (or writers) are not
// allowed.
package sockio
