"""Real, unmodified memcached clients from Debian's packages, driven the way
an app drives them, for test/proxy (clients_test.go).

usage: clients.py CLIENT SCENARIO CACHE_ADDR MEMCACHED_ADDR
  CLIENT: pymemcache | pylibmc | django-pymemcache | django-pylibmc
  SCENARIO: ordinary | staleset | herd
CACHE_ADDR is what the client talks to (the proxy, or memcached itself for
the reference run); MEMCACHED_ADDR is the memcached server, where the
sidecar's invalidation (md <key> I T30) is sent directly.
Prints one JSON object.
"""
import json
import socket
import sys
import threading


def hostport(addr):
    h, p = addr.rsplit(":", 1)
    return h, int(p)


class Sidecar:
    """Sends what the sidecar sends for a changed row: md <key> I T30."""

    def __init__(self, addr):
        self.s = socket.create_connection(hostport(addr))
        self.f = self.s.makefile("rb")

    def cmd(self, line):
        self.s.sendall(line.encode() + b"\r\n")
        return self.f.readline().decode().rstrip("\r\n")

    def invalidate(self, key):
        r = self.cmd("md %s I T30" % key)
        assert r == "HD", r

    def peek(self, key):
        """memcached's own view of key: value and flags (X = stale)."""
        r = self.cmd("mg %s v c" % key)
        if not r.startswith("VA"):
            return r
        data = self.f.readline().decode().rstrip("\r\n")
        flags = r.split()[2:]
        if "W" in flags:  # this look took the stale item's lease: give it back
            cas = [f for f in flags if f.startswith("c")][0][1:]
            self.cmd("md %s I C%s" % (key, cas))
        return " ".join([data] + sorted(f for f in flags if f in ("X",)))


def make_client(kind, addr):
    """A client object with get/set/add/delete/incr/get_many and friends,
    each call as the library makes it."""
    if kind == "pymemcache":
        from pymemcache.client.base import PooledClient
        from pymemcache import serde
        return PooledClient(hostport(addr), serde=serde.pickle_serde, max_pool_size=256, connect_timeout=5, timeout=5)
    if kind == "pylibmc":
        import pylibmc
        return pylibmc.ThreadMappedPool(pylibmc.Client([addr], binary=False))
    if kind.startswith("django-"):
        import django
        from django.conf import settings
        backend = {
            "django-pymemcache": "django.core.cache.backends.memcached.PyMemcacheCache",
            "django-pylibmc": "django.core.cache.backends.memcached.PyLibMCCache",
        }[kind]
        settings.configure(CACHES={"default": {"BACKEND": backend, "LOCATION": addr, "TIMEOUT": None}})
        django.setup()
        from django.core.cache import cache
        return cache
    raise SystemExit("unknown client " + kind)


class Cache:
    """One face over the three libraries: the calls an app makes."""

    def __init__(self, kind, addr):
        self.kind = kind
        self.c = make_client(kind, addr)

    def raw(self, k):
        """The key as it reaches memcached (Django prefixes a version)."""
        if self.kind.startswith("django-"):
            return self.c.make_key(k)
        return k

    def _do(self, f):
        if self.kind == "pylibmc":
            with self.c.reserve() as mc:
                return f(mc)
        return f(self.c)

    def get(self, k):
        return self._do(lambda c: c.get(k))

    def set(self, k, v):
        if self.kind == "pymemcache":
            return self.c.set(k, v, noreply=False)
        return self._do(lambda c: c.set(k, v))

    def add(self, k, v):
        if self.kind == "pymemcache":
            return self.c.add(k, v, noreply=False)
        return self._do(lambda c: c.add(k, v))

    def delete(self, k):
        if self.kind == "pymemcache":
            return self.c.delete(k, noreply=False)
        return self._do(lambda c: c.delete(k))

    def incr(self, k, n):
        try:
            if self.kind == "pymemcache":
                return self.c.incr(k, n, noreply=False)
            return self._do(lambda c: c.incr(k, n))
        except Exception as e:  # django raises ValueError, pylibmc NotFound
            return "error:" + type(e).__name__

    def get_many(self, ks):
        if self.kind == "pylibmc":
            return self._do(lambda c: c.get_multi(ks))
        return self.c.get_many(ks)

    def set_many(self, d):
        if self.kind == "pylibmc":
            return self._do(lambda c: c.set_multi(d))
        if self.kind == "pymemcache":
            return self.c.set_many(d, noreply=False)
        return self.c.set_many(d)

    def touch(self, k):
        if self.kind == "pymemcache":
            return self.c.touch(k, 100, noreply=False)
        if self.kind == "pylibmc":
            return self._do(lambda c: c.touch(k, 100))
        return self.c.touch(k, 100)


def ordinary(cache, sidecar):
    """A short script of ordinary use; its results must not depend on
    whether the client talks to the proxy or to memcached."""
    out = []
    step = lambda name, v: out.append([name, v if not isinstance(v, (set, tuple)) else sorted(v)])
    step("get missing", cache.get("o:a"))
    step("set after miss", cache.set("o:a", "one"))
    step("get", cache.get("o:a"))
    step("add existing", cache.add("o:a", "x"))
    step("get missing b", cache.get("o:b"))
    step("add after miss", cache.add("o:b", "two"))
    step("add new", cache.add("o:c", "three"))
    step("get_many", cache.get_many(["o:a", "o:b", "o:c", "o:none"]))
    step("set_many", cache.set_many({"o:d": "4", "o:e": "5"}))
    step("get_many after set_many", cache.get_many(["o:d", "o:e"]))
    step("incr missing", cache.incr("o:n", 1))
    step("set n", cache.set("o:n", 10))
    step("incr", cache.incr("o:n", 5))
    step("get n", cache.get("o:n"))
    step("touch", cache.touch("o:a"))
    step("touch missing", cache.touch("o:none2"))
    step("delete", cache.delete("o:a"))
    step("get deleted", cache.get("o:a"))
    # A delete voids the lease a get took (it is an invalidation), so a get,
    # delete, set of one key within lease_ttl answers NOT_STORED through
    # the proxy (README, transparent leases): not part of this script.
    step("delete missing", cache.delete("o:never"))
    step("set again", cache.set("o:a", "again"))
    step("get again", cache.get("o:a"))
    step("set twice 1", cache.set("o:t", "1"))
    step("set twice 2", cache.set("o:t", "2"))
    step("get twice", cache.get("o:t"))
    step("get then set twice", cache.get("o:u"))
    step("set u 1", cache.set("o:u", "1"))
    step("set u 2", cache.set("o:u", "2"))
    step("get u", cache.get("o:u"))
    return {"steps": out}


def staleset(cache, sidecar):
    """The stale set of issue 12: miss, the row changes and is invalidated,
    then the reader stores what it read."""
    cache.set("item:1", "v1")
    sidecar.invalidate(cache.raw("item:1"))  # the row went v1 -> v2
    got = cache.get("item:1")  # the reader misses, reads v2 from the database
    sidecar.invalidate(cache.raw("item:1"))  # meanwhile the row went v2 -> v3
    stored = cache.set("item:1", "v2")  # the reader stores what it read
    return {"get": got, "set": stored, "memcached": sidecar.peek(cache.raw("item:1")), "get after": cache.get("item:1")}


def herd(cache, sidecar):
    """200 readers of a just-invalidated key, each reading the database on a
    miss and setting what it read."""
    readers = 200
    lock = threading.Lock()
    db = {"version": 0, "reads": 0}

    def read_row():
        with lock:
            db["reads"] += 1
            return "v%d" % db["version"]

    cache.set("hot", "v0")
    rounds = []
    for version in (1, 2, 3):
        with lock:
            db["version"], db["reads"] = version, 0
        sidecar.invalidate(cache.raw("hot"))
        seen = [None] * readers
        barrier = threading.Barrier(readers)

        def reader(i):
            barrier.wait()
            v = cache.get("hot")
            if v is None:
                v = read_row()
                cache.set("hot", v)
            seen[i] = v

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(readers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rounds.append({"reads": db["reads"], "values": sorted(set(seen)), "want": "v%d" % version})
    return {"rounds": rounds}


def main():
    kind, scenario, cache_addr, mc_addr = sys.argv[1:5]
    cache = Cache(kind, cache_addr)
    sidecar = Sidecar(mc_addr)
    result = {"ordinary": ordinary, "staleset": staleset, "herd": herd}[scenario](cache, sidecar)
    print(json.dumps(result, default=repr))


if __name__ == "__main__":
    main()
