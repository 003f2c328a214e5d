// Package ring maps memcached keys to servers.
//
// Guarantees:
//   - "crc32" routes every key exactly as gomemcache's memcache.ServerList
//     does (crc32.ChecksumIEEE of the key's first 256 bytes modulo the number
//     of servers), so a Go app using gomemcache directly and the cachesync
//     invalidator agree on the owner of a key.
//   - "ketama" (the default) routes exactly as twemproxy (nutcracker) does
//     with `distribution: ketama`, `hash: md5` and weight 1 for every server:
//     160 points per server from md5("name-N"), 4 points per digest, where the
//     name is "host:port" (or just "host" when the port is 11211, twemproxy's
//     libmemcached-compatibility rule). Keys are hashed with md5 too.
//   - Pick never allocates for keys up to 256 bytes and is safe for
//     concurrent use; a Ring is immutable once built.
package ring
