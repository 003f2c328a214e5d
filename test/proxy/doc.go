// Package proxy tests `cachesync proxy` as shipped: the binary, started the
// way an operator starts it, against a real memcached.
//
// The protocol itself (memccapable, gomemcache, leases, limits) is proven
// against the proxy package in lease/proxy; this suite holds what only the
// command decides, such as its scheduler threads and surviving descriptor
// exhaustion, and what real, unmodified clients see through it: Debian's
// pymemcache, pylibmc and Django cache backends (testdata/clients.py, run
// with /usr/bin/python3) and gomemcache.
package proxy
