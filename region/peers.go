package region

import (
	"slices"
	"sync"

	"github.com/hashicorp/memberlist"
)

// peers keeps this node's own copy of every alive member's name and
// address, for sending to them over TCP.
//
// memberlist.Members returns pointers into memberlist's state, which its
// packet handler rewrites (Addr, Port, Meta) on every alive message without
// a lock the caller can take; SendReliable on such a pointer is a data race.
// The event delegate's callbacks run under memberlist's node lock, so a
// copy taken there is consistent.
type peers struct {
	mu    sync.Mutex
	nodes map[string]memberlist.Node
}

func newPeers() *peers { return &peers{nodes: map[string]memberlist.Node{}} }

// alive records n; call only from memberlist's event callbacks.
func (p *peers) alive(n *memberlist.Node) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nodes[n.Name] = memberlist.Node{Name: n.Name, Addr: slices.Clone(n.Addr), Port: n.Port}
}

func (p *peers) gone(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.nodes, name)
}

// others returns fresh copies of every alive member but self.
func (p *peers) others(self string) []*memberlist.Node {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*memberlist.Node, 0, len(p.nodes))
	for name, n := range p.nodes {
		if name != self {
			out = append(out, &n)
		}
	}
	return out
}
