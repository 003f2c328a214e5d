package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/cachesync/cachesync/lease/ring"
	"github.com/cachesync/cachesync/replication"
)

// ringReader reads keys from the server the ring picks, one connection per
// server, dialled on first use and again after an error.
type ringReader struct {
	ring    ring.Ring
	timeout time.Duration
	conns   []*mcConn
}

func newRingReader(hash string, servers []string, timeout time.Duration) (*ringReader, error) {
	r, err := ring.New(hash, servers)
	if err != nil {
		return nil, err
	}
	return &ringReader{ring: r, timeout: timeout, conns: make([]*mcConn, len(r.Servers()))}, nil
}

func (r *ringReader) get(key string) (fetched, error) {
	s := r.ring.Pick(key)
	if r.conns[s] == nil {
		c, err := dialMC(r.ring.Servers()[s], r.timeout)
		if err != nil {
			return fetched{}, err
		}
		r.conns[s] = c
	}
	got, err := r.conns[s].fetch([]string{key})
	if err != nil {
		r.conns[s].Close()
		r.conns[s] = nil
		return fetched{}, err
	}
	return got[0], nil
}

func (r *ringReader) close() {
	for i, c := range r.conns {
		if c != nil {
			c.Close()
			r.conns[i] = nil
		}
	}
}

// pgRows reads rows by primary key (or replica identity index) over one
// connection, connected on first use and again after an error.
type pgRows struct {
	dsn     string
	timeout time.Duration
	conn    *pgx.Conn
	// ident caches each table's identity columns and its query.
	ident map[string]*tableIdent
}

type tableIdent struct {
	cols  []string
	query string
}

func newPGRows(dsn string, timeout time.Duration) *pgRows {
	return &pgRows{dsn: dsn, timeout: timeout, ident: map[string]*tableIdent{}}
}

// identQuery lists a table's primary key columns in index order, or those
// of its replica identity index when it has no primary key.
const identQuery = `WITH ix AS (
  SELECT indrelid, indkey FROM pg_index
   WHERE indrelid = $1::regclass AND (indisprimary OR indisreplident)
   ORDER BY indisprimary DESC LIMIT 1)
SELECT a.attname FROM ix CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, pos)
  JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
 ORDER BY k.pos`

func (p *pgRows) row(ctx context.Context, table string, sample map[string]string) (map[string]string, map[string]string, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if p.conn == nil {
		c, err := pgx.Connect(ctx, p.dsn)
		if err != nil {
			return nil, nil, false, fmt.Errorf("connect: %w", err)
		}
		p.conn = c
	}
	id, row, found, err := p.query(ctx, table, sample)
	if err != nil && !errors.Is(err, errNoIdentity) {
		p.close()
	}
	return id, row, found, err
}

func (p *pgRows) query(ctx context.Context, table string, sample map[string]string) (map[string]string, map[string]string, bool, error) {
	ti, err := p.identity(ctx, table)
	if err != nil {
		return nil, nil, false, err
	}
	id := make(map[string]string, len(ti.cols))
	args := make([][]byte, len(ti.cols))
	for i, c := range ti.cols {
		v, ok := sample[c]
		if !ok {
			return nil, nil, false, errNoIdentity
		}
		id[c], args[i] = v, []byte(v)
	}
	// Text parameters and results: the form key and value templates render.
	rr := p.conn.PgConn().ExecParams(ctx, ti.query, args, nil, nil, nil)
	fields := rr.FieldDescriptions()
	var row map[string]string
	for rr.NextRow() {
		row = make(map[string]string, len(fields))
		for i, v := range rr.Values() {
			if v != nil {
				row[fields[i].Name] = string(v)
			}
		}
	}
	if _, err := rr.Close(); err != nil {
		return nil, nil, false, fmt.Errorf("read %s: %w", table, err)
	}
	return id, row, row != nil, nil
}

func (p *pgRows) identity(ctx context.Context, table string) (*tableIdent, error) {
	if ti, ok := p.ident[table]; ok {
		if ti == nil {
			return nil, errNoIdentity
		}
		return ti, nil
	}
	rows, err := p.conn.Query(ctx, identQuery, table)
	if err != nil {
		return nil, fmt.Errorf("identity of %s: %w", table, err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("identity of %s: %w", table, err)
	}
	if len(cols) == 0 {
		p.ident[table] = nil // no primary key: its rows cannot be looked up
		return nil, errNoIdentity
	}
	where := make([]string, len(cols))
	for i, c := range cols {
		where[i] = fmt.Sprintf("%s = $%d", pgx.Identifier{c}.Sanitize(), i+1)
	}
	ti := &tableIdent{cols: cols, query: "SELECT * FROM " + table + " WHERE " + strings.Join(where, " AND ")}
	p.ident[table] = ti
	return ti, nil
}

// positionQuery is what a read made now can see: on a replica what it has
// replayed, on a primary what has been inserted.
const positionQuery = `SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END)::text`

func (p *pgRows) position(ctx context.Context) (replication.LSN, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if p.conn == nil {
		return 0, errors.New("not connected")
	}
	var s string
	if err := p.conn.QueryRow(ctx, positionQuery).Scan(&s); err != nil {
		p.close()
		return 0, fmt.Errorf("read WAL position: %w", err)
	}
	lsn, err := pglogrepl.ParseLSN(s)
	if err != nil {
		return 0, fmt.Errorf("read WAL position %q: %w", s, err)
	}
	return lsn, nil
}

func (p *pgRows) close() {
	if p.conn != nil {
		p.conn.Close(context.Background())
		p.conn = nil
	}
}
