package region

import (
	"encoding/json"
	"sync/atomic"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"
)

// maxBroadcast is the largest status sent as a UDP broadcast; larger ones go
// to every member over TCP. memberlist packs broadcasts into ~1400-byte UDP
// packets, and a broadcast that never fits would never be sent.
const maxBroadcast = 1000

// delegate connects memberlist to the table: membership events, status
// messages and the push/pull exchange.
type delegate struct {
	meta  []byte
	tab   *table
	peers *peers
	queue *memberlist.TransmitLimitedQueue
	log   *zap.Logger
	// mute silences the delegate once the node stopped (see zapWriter).
	mute *atomic.Bool
}

func (d *delegate) debug(msg string, err error) {
	if !d.mute.Load() {
		d.log.Debug(msg, zap.Error(err))
	}
}

var (
	_ memberlist.Delegate      = (*delegate)(nil)
	_ memberlist.EventDelegate = (*delegate)(nil)
)

func (d *delegate) NodeMeta(limit int) []byte {
	if len(d.meta) > limit {
		return nil
	}
	return d.meta
}

// NotifyMsg must not block and must not keep b: memberlist reuses it.
func (d *delegate) NotifyMsg(b []byte) {
	if len(b) > 1 && b[0] == msgLeave {
		d.tab.leaving(string(b[1:]))
		return
	}
	e, err := decodeEnvelope(b)
	if err != nil {
		d.debug("ignored gossip message", err)
		return
	}
	if d.tab.mergeStatus(e) && len(b) <= maxBroadcast {
		// Passing newer statuses on makes the spread epidemic instead of
		// relying on the origin's few retransmissions.
		d.queue.QueueBroadcast(&statusBroadcast{node: e.Node, msg: append([]byte(nil), b...)})
	}
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.queue.GetBroadcasts(overhead, limit)
}

func (d *delegate) LocalState(join bool) []byte {
	b, err := json.Marshal(pushState{Statuses: d.tab.envelopes()})
	if err != nil {
		d.debug("encode push/pull state", err)
		return nil
	}
	return b
}

func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	var s pushState
	if err := json.Unmarshal(buf, &s); err != nil {
		d.debug("ignored push/pull state", err)
		return
	}
	for _, e := range s.Statuses {
		if e.Node != "" {
			d.tab.mergeStatus(e)
		}
	}
}

func (d *delegate) NotifyJoin(n *memberlist.Node) {
	d.peers.alive(n)
	d.tab.alive(n.Name, n.Address(), n.Meta)
}

// NotifyUpdate records a member's new address or meta as a join does.
func (d *delegate) NotifyUpdate(n *memberlist.Node) { d.NotifyJoin(n) }

func (d *delegate) NotifyLeave(n *memberlist.Node) {
	d.peers.gone(n.Name)
	d.tab.gone(n.Name, n.Address(), n.Meta)
}

// statusBroadcast is one origin's status; a newer one replaces it in the
// queue.
type statusBroadcast struct {
	node string
	msg  []byte
}

func (b *statusBroadcast) Name() string { return "status/" + b.node }

func (b *statusBroadcast) Invalidates(o memberlist.Broadcast) bool {
	ob, ok := o.(*statusBroadcast)
	return ok && ob.node == b.node
}

func (b *statusBroadcast) Message() []byte { return b.msg }
func (b *statusBroadcast) Finished()       {}
