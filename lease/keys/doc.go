// Package keys renders cache keys from key templates such as
// "user_by_name:{name}".
//
// Guarantees:
//   - A rendered key is always a legal memcached key: template text is
//     validated up front (no spaces, no control characters) and every byte of
//     a column value outside A-Z a-z 0-9 . _ ~ - is percent-encoded (%XX,
//     upper case), so values can never inject spaces, newlines or braces.
//   - The same template and values always give the same key, in every
//     process: apps (through the lease client) and the invalidator share this
//     function, so what one fills the other invalidates.
//   - A key longer than 250 bytes is an error (ErrKeyTooLong), never a
//     truncated key: two distinct rows must never share a key.
//   - Rendering allocates only the resulting string.
package keys
