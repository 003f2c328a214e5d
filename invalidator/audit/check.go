package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/cachesync/cachesync/lease/keys"
	"github.com/cachesync/cachesync/lease/ring"
	"github.com/cachesync/cachesync/replication"
)

// Check scans every configured table of cfg.DSN and compares each key its
// rows render to with what cfg.Expected says the app caches. It returns an
// error only when it could not look (database or memcached unreachable, bad
// config); inconsistencies are counted in the Report.
func Check(ctx context.Context, cfg Config) (Report, error) {
	c, err := newChecker(cfg)
	if err != nil {
		return Report{}, err
	}
	defer c.close()
	db, err := pgx.Connect(ctx, cfg.DSN)
	if err != nil {
		return Report{}, fmt.Errorf("audit: connect: %w", err)
	}
	defer db.Close(context.WithoutCancel(ctx))
	var total Report
	for _, table := range sortedKeys(cfg.Tables) {
		rep, err := c.table(ctx, db, table, cfg.Tables[table])
		if err != nil {
			return total, err
		}
		c.log.Debug("table checked", zap.String("table", table), zap.Stringer("report", rep))
		total.add(rep, cfg.MaxExamples)
	}
	return total, nil
}

type checker struct {
	cfg   Config
	log   *zap.Logger
	ring  ring.Ring
	conns []*mcConn // by ring index, dialled on first use
}

func newChecker(cfg Config) (*checker, error) {
	def := DefaultConfig()
	if cfg.Expected == nil {
		return nil, errors.New("audit: Config.Expected is required")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = def.BatchSize
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.MaxExamples < 0 {
		cfg.MaxExamples = 0
	}
	r, err := ring.New(cfg.Hash, cfg.Servers)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	return &checker{cfg: cfg, log: log, ring: r, conns: make([]*mcConn, len(r.Servers()))}, nil
}

func (c *checker) close() {
	for _, m := range c.conns {
		if m != nil {
			m.Close()
		}
	}
}

// item is one key to check and the value its row says it should hold.
type item struct {
	key  string
	want []byte
}

// table streams the rows in PostgreSQL's text form (the form key templates
// render) and checks their keys a batch at a time.
func (c *checker) table(ctx context.Context, db *pgx.Conn, table string, templates []string) (Report, error) {
	tpls := make([]*keys.Template, len(templates))
	for i, s := range templates {
		t, err := keys.Parse(s)
		if err != nil {
			return Report{}, fmt.Errorf("audit: table %s: %w", table, err)
		}
		tpls[i] = t
	}
	name, err := replication.ParseTable(table)
	if err != nil {
		return Report{}, fmt.Errorf("audit: %w", err)
	}
	// Text result format: nil result formats ask for text for every column.
	rr := db.PgConn().ExecParams(ctx, "SELECT * FROM "+name.String(), nil, nil, nil, nil)
	fields := rr.FieldDescriptions()
	var rep Report
	var batch []item
	for rr.NextRow() {
		row := make(map[string]string, len(fields))
		for i, v := range rr.Values() {
			if v != nil {
				row[fields[i].Name] = string(v)
			}
		}
		want := c.cfg.Expected(table, row)
		for _, t := range tpls {
			key, err := t.Render(func(col string) (string, bool) { v, ok := row[col]; return v, ok })
			switch {
			case errors.Is(err, keys.ErrMissingColumn):
				// A NULL key column names no key: the sidecar skips it too.
				continue
			case err != nil:
				rep.KeyErrors++
				continue
			}
			batch = append(batch, item{key: key, want: want})
		}
		if len(batch) >= c.cfg.BatchSize {
			if err := c.compare(batch, &rep); err != nil {
				rr.Close()
				return rep, err
			}
			batch = batch[:0]
		}
	}
	if _, err := rr.Close(); err != nil {
		return rep, fmt.Errorf("audit: scan %s: %w", table, err)
	}
	if err := c.compare(batch, &rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// compare fetches batch from the servers that own its keys and counts.
func (c *checker) compare(batch []item, rep *Report) error {
	byServer := map[int][]int{}
	for i, it := range batch {
		s := c.ring.Pick(it.key)
		byServer[s] = append(byServer[s], i)
	}
	for s, idx := range byServer {
		conn, err := c.conn(s)
		if err != nil {
			return err
		}
		ks := make([]string, len(idx))
		for j, i := range idx {
			ks[j] = batch[i].key
		}
		got, err := conn.fetch(ks)
		if err != nil {
			conn.Close()
			c.conns[s] = nil
			return fmt.Errorf("audit: %w", err)
		}
		for j, i := range idx {
			c.count(rep, batch[i], got[j])
		}
	}
	return nil
}

func (c *checker) count(rep *Report, it item, f fetched) {
	rep.Keys++
	switch f.state {
	case missing:
		return
	case stale:
		rep.Stale++
	case cached:
		if bytes.Equal(f.value, it.want) {
			rep.Consistent++
		} else {
			rep.Inconsistent++
			if len(rep.Examples) < c.cfg.MaxExamples {
				rep.Examples = append(rep.Examples, fmt.Sprintf("%s: cached %q, database says %q", it.key, f.value, it.want))
			}
		}
	}
	rep.Cached++
}

func (c *checker) conn(s int) (*mcConn, error) {
	if c.conns[s] == nil {
		m, err := dialMC(c.ring.Servers()[s], c.cfg.Timeout)
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		c.conns[s] = m
	}
	return c.conns[s], nil
}

func sortedKeys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
