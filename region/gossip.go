package region

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

func (n *Node) statusLoop(ctx context.Context) {
	for {
		n.publishStatus()
		if !sleepCtx(ctx, n.cfg.StatusInterval) {
			return
		}
	}
}

// currentStatus is this node's status with its identity filled in, so a
// Status func that only knows figures still produces a usable status.
func (n *Node) currentStatus() NodeStatus {
	var st NodeStatus
	if n.cfg.Status != nil {
		st = n.cfg.Status()
	} else {
		st.Healthy = true
	}
	if st.Region == "" {
		st.Region = n.cfg.Region
	}
	if st.Node == "" {
		st.Node = n.cfg.Node
	}
	if st.Role == "" {
		st.Role = n.cfg.Role
	}
	if st.UpdatedAt.IsZero() {
		st.UpdatedAt = time.Now().UTC()
	}
	return st
}

// nextSeq is the wall clock, forced to increase within this process.
func (n *Node) nextSeq() int64 {
	for {
		last := n.lastSeq.Load()
		s := max(time.Now().UnixNano(), last+1)
		if n.lastSeq.CompareAndSwap(last, s) {
			return s
		}
	}
}

// publishStatus records this node's status and sends it to the others.
func (n *Node) publishStatus() {
	e := envelope{Node: n.cfg.Node, Seq: n.nextSeq(), Status: n.currentStatus()}
	msg, err := encodeEnvelope(e)
	if err != nil {
		n.log.Warn("status not gossiped", zap.Error(err))
		return
	}
	n.tab.mergeStatus(e)
	if len(msg) <= maxBroadcast {
		n.queue.QueueBroadcast(&statusBroadcast{node: e.Node, msg: msg})
		return
	}
	ml := n.ml.Load()
	if ml == nil {
		return
	}
	for _, m := range n.peers.others(n.cfg.Node) {
		if err := ml.SendReliable(m, msg); err != nil {
			// Push/pull carries it later; probing reports the member.
			n.log.Debug("send status", zap.String("to", m.Name), zap.Error(err))
		}
	}
}

// joinLoop joins the configured members, and joins again whenever this node
// sees no other alive member (start-up order, a healed partition). It logs
// only when the state changes.
func (n *Node) joinLoop(ctx context.Context) {
	if len(n.cfg.Join) == 0 {
		return
	}
	const minWait, maxWait, checkEvery = 200 * time.Millisecond, 10 * time.Second, time.Second
	ml := n.ml.Load()
	wait := minWait
	state := ""
	for {
		if ml.NumMembers() > 1 {
			if state != "joined" {
				n.log.Info("joined cluster", zap.Int("members", ml.NumMembers()))
				state = "joined"
			}
			wait = minWait
			if !sleepCtx(ctx, checkEvery) {
				return
			}
			continue
		}
		if state == "joined" {
			n.log.Warn("no other member alive, joining again", zap.Strings("join", n.cfg.Join))
		}
		_, err := ml.Join(n.cfg.Join)
		if err == nil && ml.NumMembers() > 1 {
			continue
		}
		if err == nil {
			err = errors.New("no other member reachable")
		}
		if state != "failing" {
			n.log.Warn("cannot join cluster, retrying", zap.Strings("join", n.cfg.Join), zap.Error(err))
			state = "failing"
		}
		if !sleepCtx(ctx, wait) {
			return
		}
		wait = min(wait*2, maxWait)
	}
}
