package invalidator

import (
	"strings"

	"github.com/cachesync/cachesync/replication"
)

// Sampler is shown a sample of the keys the invalidator renders, with the
// row each key belongs to, so that a consistency monitor can re-read them
// later. Both methods are called on the replication goroutine, once per
// rendered key, so they must be cheap and must never block: a monitor that
// cannot keep up drops samples, never invalidations.
type Sampler interface {
	// Sampled reports whether the key being rendered should be offered.
	Sampled() bool
	// Offer hands over a sampled key. Its invalidation is delivered once the
	// Acker has been given an end LSN beyond s.Commit.
	Offer(s Sample)
}

// Sample is one invalidated key and the row it was rendered from.
type Sample struct {
	// Table is the table's name as SQL, quoted where needed
	// (replication.Table.String: public.users, public."my-table").
	Table string
	// Key is the rendered memcached key.
	Key string
	// Row holds the columns the change carried for that row, in
	// PostgreSQL's text form (NULL and unsent columns are absent). An old
	// row under REPLICA IDENTITY DEFAULT carries only its identity.
	Row map[string]string
	// Commit is the commit record LSN of the key's transaction (BEGIN's
	// final_lsn).
	Commit replication.LSN
}

// QualifiedTable is the form Sample.Table takes for a configured table name
// ("users" is "public.users"); a name that does not parse is returned as is
// (New refuses it).
func QualifiedTable(name string) string {
	t, err := replication.ParseTable(name)
	if err != nil {
		return name
	}
	return t.String()
}

// sample offers key to the configured Sampler when it wants it. The row is
// copied: the tuple aliases the change's buffer.
func (inv *Invalidator) sample(r *relRules, t *tuple, key string) {
	s := inv.cfg.Sampler
	if s == nil || inv.cur == nil || !s.Sampled() {
		return
	}
	row := make(map[string]string, len(r.rel.Columns))
	for i, c := range r.rel.Columns {
		if v, err := r.value(t, i); err == nil {
			row[c.Name] = strings.Clone(v)
		}
	}
	s.Offer(Sample{Table: r.table.name.String(), Key: key, Row: row, Commit: inv.cur.final})
}
