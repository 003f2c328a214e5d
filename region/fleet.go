package region

import "time"

// Fleet is every member this node knows of, with its last gossiped status,
// sorted by region, role and name. Dead and left members stay for
// Config.ForgetAfter.
func (n *Node) Fleet() []Member {
	return n.tab.snapshot(n.staleAfter())
}

// staleAfter is how long an alive member may stay silent: three missed
// status rounds, so one lost UDP packet does not flag it.
func (n *Node) staleAfter() time.Duration {
	return 3*n.cfg.StatusInterval + time.Second
}

func (n *Node) thresholds() thresholds {
	return thresholds{
		walWarnBytes: n.cfg.RetainedWALWarnBytes,
		lagWarn:      n.cfg.LagWarn.Seconds(),
		lagCrit:      n.cfg.LagCrit.Seconds(),
	}
}
