package region

import (
	"net"
	"testing"

	"github.com/hashicorp/memberlist"
)

// others hands out copies: memberlist may rewrite the node it reported
// (its Addr bytes included) while a send to the copy is under way.
func TestPeersAreCopies(t *testing.T) {
	p := newPeers()
	src := &memberlist.Node{Name: "b", Addr: net.IPv4(10, 0, 0, 2), Port: 7946}
	p.alive(&memberlist.Node{Name: "a", Addr: net.IPv4(10, 0, 0, 1), Port: 7946})
	p.alive(src)
	src.Addr[len(src.Addr)-1] = 9
	src.Port = 1

	got := p.others("a")
	if len(got) != 1 || got[0].Name != "b" || got[0].Address() != "10.0.0.2:7946" {
		t.Fatalf("others(a) = %v, want b at 10.0.0.2:7946 whatever the source became", got)
	}
	got[0].Port = 2
	if again := p.others("a"); again[0].Port != 7946 {
		t.Fatal("others returned the stored node, not a copy")
	}
	p.gone("b")
	if got := p.others("a"); len(got) != 0 {
		t.Fatalf("after gone(b): %v", got)
	}
}
