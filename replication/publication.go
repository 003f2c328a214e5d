package replication

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// FlushPrefix is the prefix of the logical message that tells every
// consumer of the publication to flush its cache at that point of the
// stream. SyncPublication writes it in the same transaction as the change
// that makes tables published again: their changes before it were never
// streamed, so no consumer can name their keys. Being in the WAL, it reaches
// every region's slot, in order with the changes around it. Its content is
// the reason, for the log.
const FlushPrefix = "cachesync.flush"

// PublicationSync is what SyncPublication found and did.
type PublicationSync struct {
	// Created: the publication did not exist and was created.
	Created bool
	// ViaRootSet: the publication published partitions under their own
	// names and was switched to publish_via_partition_root = true.
	ViaRootSet bool
	// Added are configured tables that were not published (dropped and
	// re-created, or newly configured) and were added.
	Added []Table
	// Missing are configured tables that do not exist (dropped, not yet
	// re-created): nothing of theirs can be published.
	Missing []Table
}

// Changed reports whether SyncPublication changed the publication, and so
// wrote a flush message.
func (p PublicationSync) Changed() bool { return p.Created || p.ViaRootSet || len(p.Added) > 0 }

// EnsurePublication is SyncPublication for callers that need only its
// error.
func EnsurePublication(ctx context.Context, conn *pgconn.PgConn, name string, tables []Table) error {
	_, err := SyncPublication(ctx, conn, name, tables)
	return err
}

// SyncPublication makes publication name publish every existing table of
// tables, partitioned tables through their root (publish_via_partition_root
// = true, so a change to any partition, attached now or later, arrives under
// the configured parent's name). It creates the publication when missing,
// switches an existing one to publish via the root when a configured table
// is partitioned, and adds the tables it lacks; whenever it changes the
// publication it writes a FlushPrefix message in the same transaction. A
// configured partition whose ancestor the publication publishes via the root
// is refused (ErrRefused): its changes arrive under the ancestor's name.
//
// It uses the simple protocol, so conn may be a replication connection (for
// a *pgx.Conn, pass its PgConn()).
func SyncPublication(ctx context.Context, conn *pgconn.PgConn, name string, tables []Table) (PublicationSync, error) {
	var res PublicationSync
	st, err := publicationState(ctx, conn, name, tables)
	if err != nil {
		return res, err
	}
	var exist []Table
	partitioned := false
	for i, t := range tables {
		switch st.tables[i].kind {
		case "":
			res.Missing = append(res.Missing, t)
			continue
		case "p":
			partitioned = true
		}
		exist = append(exist, t)
	}
	qname := QuoteIdent(name)
	if !st.exists {
		if len(tables) == 0 {
			return res, fmt.Errorf("publication %s does not exist and no tables are configured", name)
		}
		sql := "CREATE PUBLICATION " + qname
		if len(exist) > 0 {
			sql += " FOR TABLE " + tableList(exist)
		}
		sql += " WITH (publish_via_partition_root = true)"
		err := changePublication(ctx, conn, sql, fmt.Sprintf("publication %s was created for %s", name, tableList(exist)))
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42710" {
			// Another node created it at the same moment: take it as it is.
			return SyncPublication(ctx, conn, name, tables)
		}
		if err != nil {
			return res, fmt.Errorf("create publication %s: %w", name, err)
		}
		res.Created = true
		return res, nil
	}
	if partitioned && !st.viaRoot {
		stmt := "ALTER PUBLICATION " + qname + " SET (publish_via_partition_root = true)"
		reason := fmt.Sprintf("publication %s published partitions under their own names, which no rule for a partitioned table matches; switched to publish_via_partition_root = true", name)
		if err := changePublication(ctx, conn, stmt, reason); err != nil {
			return res, fmt.Errorf("%w: publication %s publishes the partitions of partitioned tables under their own names (publish_via_partition_root = false), "+
				"so changes to them would not match the configured parent; switching it failed (%v); run: "+
				"BEGIN; %s; SELECT pg_logical_emit_message(true, %s, 'publish_via_partition_root set'); COMMIT; "+
				"(the message makes every region flush its memcached: changes before it arrive under the partitions' names)",
				ErrRefused, name, err, stmt, quoteLiteral(FlushPrefix))
		}
		res.ViaRootSet = true
		st.viaRoot = true
	}
	var add []Table
	for i, t := range tables {
		ts := st.tables[i]
		if ts.kind == "" {
			continue
		}
		if st.viaRoot && ts.publishedAncestor != "" {
			return res, fmt.Errorf("%w: table %s is a partition of %s, which publication %s publishes via its root: its changes arrive as %s's; configure %s instead of %s",
				ErrRefused, t, ts.publishedAncestor, name, ts.publishedAncestor, ts.publishedAncestor, t)
		}
		// Without publish_via_partition_root a partition is published
		// under its own name by its ancestor's membership too.
		if !ts.published && ts.publishedAncestor == "" {
			add = append(add, t)
		}
	}
	if len(add) == 0 {
		return res, nil
	}
	reason := fmt.Sprintf("%s not in publication %s (dropped and re-created, or newly configured): their changes before this point were never streamed", tableList(add), name)
	err = changePublication(ctx, conn, "ALTER PUBLICATION "+qname+" ADD TABLE "+tableList(add), reason)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42710" {
		// A concurrent sidecar added it (and wrote the flush message).
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("add tables %s to publication %s: %w", tableList(add), name, err)
	}
	res.Added = add
	return res, nil
}

// changePublication runs stmt and writes the flush message in one
// transaction (one simple-protocol query is one implicit transaction).
func changePublication(ctx context.Context, conn *pgconn.PgConn, stmt, reason string) error {
	sql := stmt + "; SELECT pg_logical_emit_message(true, " + quoteLiteral(FlushPrefix) + ", " + quoteLiteral(reason) + ")"
	_, err := conn.Exec(ctx, sql).ReadAll()
	return err
}

func tableList(ts []Table) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return strings.Join(s, ", ")
}

type pubState struct {
	exists, viaRoot bool
	tables          []tableState // one per configured table, in order
}

type tableState struct {
	kind string // pg_class.relkind: "r", "p", or "" when the table does not exist
	// published: the publication publishes the table itself (by name, by
	// schema, or FOR ALL TABLES).
	published bool
	// publishedAncestor is the topmost ancestor (partitioned table) the
	// publication publishes, "" when none.
	publishedAncestor string
}

// publicationState reads the publication and, for each table, whether it
// exists and how the publication covers it, in one query.
func publicationState(ctx context.Context, conn *pgconn.PgConn, name string, tables []Table) (pubState, error) {
	var st pubState
	rows, err := queryText(ctx, conn, "SELECT pubviaroot FROM pg_publication WHERE pubname = "+quoteLiteral(name))
	if err != nil {
		return st, fmt.Errorf("look up publication %s: %w", name, err)
	}
	st.exists = len(rows) == 1
	st.viaRoot = st.exists && rows[0][0] == "t"
	st.tables = make([]tableState, len(tables))
	if len(tables) == 0 {
		return st, nil
	}
	vals := make([]string, len(tables))
	for i, t := range tables {
		vals[i] = "(" + strconv.Itoa(i) + ", " + quoteLiteral(t.Schema) + ", " + quoteLiteral(t.Name) + ")"
	}
	rows, err = queryText(ctx, conn, `
WITH p AS (SELECT oid, puballtables FROM pg_catalog.pg_publication WHERE pubname = `+quoteLiteral(name)+`),
t(ord, nsp, rel) AS (VALUES `+strings.Join(vals, ", ")+`),
c AS (SELECT t.ord, k.oid, k.relkind
      FROM t LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = t.nsp
      LEFT JOIN pg_catalog.pg_class k ON k.relnamespace = n.oid AND k.relname = t.rel AND k.relkind IN ('r', 'p'))
SELECT c.ord, coalesce(c.relkind::text, ''),
       coalesce((SELECT bool_or(p.puballtables
                 OR EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel r WHERE r.prpubid = p.oid AND r.prrelid = c.oid)
                 OR EXISTS (SELECT 1 FROM pg_catalog.pg_publication_namespace s JOIN pg_catalog.pg_class k ON k.relnamespace = s.pnnspid
                            WHERE s.pnpubid = p.oid AND k.oid = c.oid)) FROM p), false),
       coalesce((SELECT format('%I.%I', an.nspname, ac.relname)
                 FROM pg_catalog.pg_partition_ancestors(c.oid) WITH ORDINALITY a(relid, lvl)
                 JOIN pg_catalog.pg_class ac ON ac.oid = a.relid JOIN pg_catalog.pg_namespace an ON an.oid = ac.relnamespace, p
                 WHERE a.relid <> c.oid AND (p.puballtables
                   OR EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel r WHERE r.prpubid = p.oid AND r.prrelid = a.relid)
                   OR EXISTS (SELECT 1 FROM pg_catalog.pg_publication_namespace s WHERE s.pnpubid = p.oid AND s.pnnspid = ac.relnamespace))
                 ORDER BY a.lvl DESC LIMIT 1), '')
FROM c ORDER BY c.ord`)
	if err != nil {
		return st, fmt.Errorf("look up tables of publication %s: %w", name, err)
	}
	for _, r := range rows {
		i, err := strconv.Atoi(r[0])
		if err != nil || i < 0 || i >= len(tables) {
			return st, fmt.Errorf("look up tables of publication %s: unexpected row %q", name, r)
		}
		st.tables[i] = tableState{kind: r[1], published: r[2] == "t", publishedAncestor: r[3]}
	}
	return st, nil
}
