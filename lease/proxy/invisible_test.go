package proxy

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// Every classic command answers on an item a classic client cannot see
// (an empty placeholder, held or not, or a stale item) exactly what
// memcached 1.6.18 answers for an absent key: the same bytes from the
// proxy, over each kind of invisible item, as from a real memcached where
// the key was never set.
func TestInvisibleItemsAnswerLikeAbsentKeys(t *testing.T) {
	_, addrs := startMemcached(t, 2) // [0] the reference, [1] behind the proxy
	s := startProxy(t, nil, addrs[1])
	mc := dial(t, addrs[1])
	// Each kind of item, made directly on the proxy's memcached (or
	// through the proxy) under key k.
	kinds := map[string]func(k string){
		// A lease-get client (or another proxy) is filling it.
		"held placeholder": func(k string) { placeholder(t, mc, k) },
		// Its filler gave the lease back.
		"released placeholder": func(k string) {
			mc.send(fmt.Sprintf("md %s I C%d\r\n", k, placeholder(t, mc, k)))
			mc.expect("HD")
		},
		// Invalidated by the sidecar.
		"stale item": func(k string) {
			mc.send("set " + k + " 0 0 3\r\nold\r\nmd " + k + " I T30\r\n")
			mc.expect("STORED", "HD")
		},
		// This proxy's own classic get missed and holds the lease.
		"own classic lease": func(k string) {
			c := dial(t, s.Addr())
			c.send("get " + k + "\r\n")
			c.expect("END")
		},
	}
	inputs := []string{
		"get %[1]s\r\n", "gets %[1]s\r\n", "gat 10 %[1]s\r\n", "gats 10 %[1]s\r\n", "get %[1]s %[1]s\r\n",
		"add %[1]s 0 0 1\r\nx\r\nget %[1]s\r\n", "add %[1]s 0 0 1 noreply\r\nx\r\nget %[1]s\r\n",
		"replace %[1]s 0 0 1\r\nx\r\nget %[1]s\r\n", "replace %[1]s 0 0 1 noreply\r\nx\r\n",
		"append %[1]s 0 0 1\r\nx\r\n", "prepend %[1]s 0 0 1\r\nx\r\nget %[1]s\r\n",
		"incr %[1]s 1\r\n", "decr %[1]s 1\r\n", "incr %[1]s 1 noreply\r\n",
		"touch %[1]s 10\r\n", "touch %[1]s 0 noreply\r\nget %[1]s\r\n",
		"delete %[1]s\r\nget %[1]s\r\n", "delete %[1]s noreply\r\n",
		"cas %[1]s 0 0 1 1\r\nx\r\n", "cas %[1]s 0 0 1 999999\r\nx\r\nget %[1]s\r\n",
		"set %[1]s 0 0 1\r\nx\r\nget %[1]s\r\n",
	}
	n := 0
	for kind, make := range kinds {
		for _, in := range inputs {
			n++
			k := "inv" + strconv.Itoa(n)
			make(k)
			got := exchange(t, s.Addr(), fmt.Sprintf(in, k))
			want := exchange(t, addrs[0], fmt.Sprintf(in, k))
			if got != want {
				t.Errorf("%s, %q:\nproxy     %q\nmemcached %q (absent key)", kind, fmt.Sprintf(in, k), got, want)
			}
			// Nothing the proxy did extended a placeholder's lease.
			if strings.Contains(kind, "placeholder") && !strings.HasPrefix(in, "add") && !strings.HasPrefix(in, "set") && !strings.HasPrefix(in, "delete") {
				mc.send("mg " + k + " t\r\n")
				l, _ := mc.readLine()
				var ttl int
				if _, err := fmt.Sscanf(l, "HD t%d", &ttl); err != nil || ttl > 30 || ttl < 0 {
					t.Errorf("%s after %q: %q, want the placeholder's own ttl (<= 30 s)", kind, in, l)
				}
			}
		}
	}
}

// placeholder creates key's empty placeholder on mc and holds its lease,
// as a lease-get client filling it does, and returns its CAS.
func placeholder(t *testing.T, mc *rawConn, k string) uint64 {
	t.Helper()
	mc.send("mg " + k + " c N30\r\n")
	l, err := mc.readLine()
	var cas uint64
	if _, scanErr := fmt.Sscanf(l, "HD c%d W", &cas); err != nil || scanErr != nil {
		t.Fatalf("placeholder %s: %q %v", k, l, err)
	}
	return cas
}
