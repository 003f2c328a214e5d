package region

import (
	"sort"
	"sync"
	"time"
)

// table is the fleet as this node knows it: membership events from
// memberlist and the newest status of every origin. It outlives
// memberlist's own node list, which forgets dead members.
type table struct {
	mu       sync.Mutex
	members  map[string]*memberRecord
	statuses map[string]statusRecord
	now      func() time.Time
}

type memberRecord struct {
	addr     string
	meta     nodeMeta
	state    string
	lastSeen time.Time
	// leaving is set by a leave intent: the next departure is a leave.
	leaving bool
}

type statusRecord struct {
	env      envelope
	received time.Time
}

func newTable(now func() time.Time) *table {
	return &table{
		members:  make(map[string]*memberRecord),
		statuses: make(map[string]statusRecord),
		now:      now,
	}
}

// alive records a join or an update of a member.
func (t *table) alive(name, addr string, meta []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.members[name] = &memberRecord{addr: addr, meta: decodeMeta(meta), state: StateAlive, lastSeen: t.now()}
}

// gone records that a member left or died: left when it announced its
// leave first.
func (t *table) gone(name, addr string, meta []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.members[name]
	if !ok {
		r = &memberRecord{addr: addr, meta: decodeMeta(meta)}
		t.members[name] = r
	}
	r.state = StateDead
	if r.leaving {
		r.state = StateLeft
	}
}

// leaving records a leave intent. It may arrive after the departure itself
// (UDP gossip can overtake TCP): a dead member then becomes left.
func (t *table) leaving(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.members[name]
	if !ok {
		return
	}
	if r.state == StateDead {
		r.state = StateLeft
		return
	}
	r.leaving = true
}

// mergeStatus keeps e when it is newer than what is known of its origin and
// reports whether it was.
func (t *table) mergeStatus(e envelope) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.statuses[e.Node]; ok && old.env.Seq >= e.Seq {
		return false
	}
	now := t.now()
	t.statuses[e.Node] = statusRecord{env: e, received: now}
	if r, ok := t.members[e.Node]; ok && !isGone(r.state) {
		r.lastSeen = now
	}
	return true
}

func (t *table) envelopes() []envelope {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]envelope, 0, len(t.statuses))
	for _, s := range t.statuses {
		out = append(out, s.env)
	}
	return out
}

// forget drops dead and left members whose last sign of life is older than
// before, and statuses of origins that are not members.
func (t *table) forget(before time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for name, r := range t.members {
		if isGone(r.state) && r.lastSeen.Before(before) {
			delete(t.members, name)
		}
	}
	for name, s := range t.statuses {
		if _, ok := t.members[name]; !ok && s.received.Before(before) {
			delete(t.statuses, name)
		}
	}
}

// snapshot returns the fleet sorted by region, role and name. An alive
// member not heard from for staleAfter is shown "suspect": memberlist
// reports no event for its own suspicion, and a member that stopped
// gossiping its status is not doing its job either.
func (t *table) snapshot(staleAfter time.Duration) []Member {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	out := make([]Member, 0, len(t.members))
	for name, r := range t.members {
		m := Member{Name: name, Addr: r.addr, Region: r.meta.Region, Role: r.meta.Role, State: r.state, LastSeen: r.lastSeen}
		if m.State == StateAlive && now.Sub(r.lastSeen) > staleAfter {
			m.State = StateSuspect
		}
		if s, ok := t.statuses[name]; ok {
			st := s.env.Status
			m.Status = &st
			if m.Region == "" {
				m.Region = st.Region
			}
			if m.Role == "" {
				m.Role = st.Role
			}
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		if a.Role != b.Role {
			return a.Role < b.Role
		}
		return a.Name < b.Name
	})
	return out
}
