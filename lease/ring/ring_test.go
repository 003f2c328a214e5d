package ring

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
)

func testServers(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("127.0.0.1:%d", 20000+i)
	}
	return s
}

func testKey(i int) string {
	switch i % 5 {
	case 0:
		return fmt.Sprintf("user:%d", i)
	case 1:
		return fmt.Sprintf("user_by_name:%x", i*7919)
	case 2:
		return strings.Repeat("k", i%300) // includes keys beyond 256 bytes
	case 3:
		return fmt.Sprintf("%d", i)
	default:
		return fmt.Sprintf("post:%d:comments", i)
	}
}

func TestCRC32MatchesGomemcacheServerList(t *testing.T) {
	for n := 1; n <= 7; n++ {
		servers := testServers(n)
		var sl memcache.ServerList
		if err := sl.SetServers(servers...); err != nil {
			t.Fatal(err)
		}
		r, err := New(KindCRC32, servers)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 10000; i++ {
			k := testKey(i)
			a, err := sl.PickServer(k)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Servers()[r.Pick(k)]; got != a.String() {
				t.Fatalf("n=%d key %q: ring %s, gomemcache %s", n, k, got, a)
			}
		}
	}
}

func TestKetamaContinuum(t *testing.T) {
	for n := 1; n <= 7; n++ {
		r := newKetama(testServers(n))
		if got, want := len(r.continuum), n*ketamaPointsPerServer; got != want {
			t.Fatalf("n=%d: %d points, want %d", n, got, want)
		}
		for i := 1; i < len(r.continuum); i++ {
			if r.continuum[i-1].value > r.continuum[i].value {
				t.Fatalf("continuum not sorted at %d", i)
			}
		}
	}
}

func TestKetamaSpreadsAndIsStable(t *testing.T) {
	servers := testServers(4)
	r, err := New("", servers)
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]int, len(servers))
	for i := 0; i < 20000; i++ {
		counts[r.Pick(fmt.Sprintf("key:%d", i))]++
	}
	for i, c := range counts {
		// 160 points per server keep every share well within 2x of fair.
		if c < 2500 || c > 10000 {
			t.Fatalf("server %d got %d of 20000 keys: %v", i, c, counts)
		}
	}
	// Consistent hashing: removing a server only moves that server's keys.
	r3, _ := New(KindKetama, servers[:3])
	for i := 0; i < 20000; i++ {
		k := fmt.Sprintf("key:%d", i)
		if a := r.Pick(k); a < 3 && r3.Pick(k) != a {
			t.Fatalf("key %q moved from %d to %d when server 3 left", k, a, r3.Pick(k))
		}
	}
}

func TestKetamaKnownPoint(t *testing.T) {
	// md5("127.0.0.1:11211"…) must drop the default port like twemproxy.
	if got := ketamaName("127.0.0.1:11211"); got != "127.0.0.1" {
		t.Fatalf("ketamaName = %q", got)
	}
	if got := ketamaName("127.0.0.1:11212"); got != "127.0.0.1:11212" {
		t.Fatalf("ketamaName = %q", got)
	}
	// md5("") = d41d8cd98f00b204e9800998ecf8427e: first 4 bytes little endian.
	if got := keyHash(""); got != 0xd98c1dd4 {
		t.Fatalf("keyHash(\"\") = %#x", got)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New("ketama", nil); err == nil {
		t.Fatal("no error for empty server list")
	}
	if _, err := New("modula", testServers(2)); err == nil {
		t.Fatal("no error for unknown kind")
	}
}

func TestPickDoesNotAllocate(t *testing.T) {
	for _, kind := range []string{KindKetama, KindCRC32} {
		r, _ := New(kind, testServers(5))
		key := strings.Repeat("x", 250)
		if n := testing.AllocsPerRun(100, func() { r.Pick(key); r.Pick("user:1") }); n != 0 {
			t.Fatalf("%s: Pick allocates %v times", kind, n)
		}
	}
}

func BenchmarkPick(b *testing.B) {
	for _, kind := range []string{KindKetama, KindCRC32} {
		r, _ := New(kind, testServers(5))
		b.Run(kind, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				r.Pick("user:123456")
			}
		})
	}
}
