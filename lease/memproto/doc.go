// Package memproto parses the memcached text protocol as a server sees it:
// the classic ASCII commands, the meta commands (mg ms md ma mn me) and
// mcrouter's lease-get / lease-set.
//
// Guarantees:
//   - Malformed input gets the answer memcached 1.6.18 gives (ERROR,
//     "CLIENT_ERROR bad command line format", "CLIENT_ERROR bad data chunk",
//     ...) as a *ProtocolError, and parsing resumes where memcached resumes,
//     so a proxy built on it answers exactly like the server behind it.
//   - Keys over 250 bytes are refused with a CLIENT_ERROR. Any other byte
//     is allowed in a key, control characters included, as memcached allows
//     them (memcaslap's keys start with some); a NUL ends the command line,
//     as it does in memcached's C-string tokenizer.
//   - A malformed classic command ending in "noreply" is answered by
//     silence (ProtocolError.Noreply), as memcached decides noreply from the
//     last token first; meta errors are never silenced by q. A value length
//     memcached cannot hold (4294967295, 2147483647) is a bad command line at
//     once, never a wait for data.
//   - The caller closes the connection where memcached closes it: an HTTP
//     request line (ErrHTTP), and a connection whose first byte is 0x80
//     (ErrBinaryProtocol: the binary protocol is not served).
//   - Memory is bounded: a command line without a newline after MaxLine
//     bytes (MaxGetLine for get/gets, which may be long) returns
//     ErrLineTooLong and the caller closes the connection, as memcached does
//     (a longer line that arrives with its newline is parsed, as memcached
//     parses it);
//     a value over MaxItemSize is read and discarded, never buffered, and
//     answered "SERVER_ERROR object too large for cache".
//   - A Parser reuses its buffers: a *Request is valid until the next call
//     to Next. Parsing never panics on any input (FuzzParser).
package memproto
