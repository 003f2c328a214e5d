package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/jackc/pgx/v5/pgxpool"
)

// demoCatchUpTimeout bounds how long the check waits for both regions to
// confirm the writes made before it; a region slower than this is reported,
// not counted as clean.
const demoCatchUpTimeout = 15 * time.Second

// staleResult is one check: how many cached values were compared and how
// many differ from the primary.
type staleResult struct {
	Checked, Stale int
	// Example names one stale key, for the log.
	Example string
}

// staleChecker compares every cached item with the primary once the system
// has had the chance to invalidate every write: it stops the writers, waits
// until every region's slot is confirmed past the primary's current WAL
// position (a sidecar confirms only what memcached has acknowledged, after
// the region's replica replayed it), and then reads every item:<id> through
// each region's proxy. A classic get through the proxy treats a stale
// (invalidated) item as a miss and leaves its lease alone, so what it
// returns is exactly what a reader would be served as a hit.
type staleChecker struct {
	work    *demoWorkload
	primary *pgxpool.Pool
	slots   []string
	proxies map[string]*memcache.Client // region → client of its proxy
}

func newStaleChecker(work *demoWorkload, primary *pgxpool.Pool, regions []*demoRegion) *staleChecker {
	c := &staleChecker{work: work, primary: primary, proxies: map[string]*memcache.Client{}}
	for _, r := range regions {
		c.slots = append(c.slots, r.sidecar.Postgres.Slot)
		mc := memcache.New(r.proxyAddr)
		mc.Timeout = 2 * time.Second
		c.proxies[r.name] = mc
	}
	return c
}

func (c *staleChecker) check(ctx context.Context) (staleResult, error) {
	c.work.pause.Lock()
	defer c.work.pause.Unlock()
	if err := c.waitConfirmed(ctx); err != nil {
		return staleResult{}, err
	}
	want, err := c.rows(ctx)
	if err != nil {
		return staleResult{}, err
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	var res staleResult
	for region, mc := range c.proxies {
		// Chunks keep each request line far below any line limit.
		for chunk := range slices.Chunk(keys, 50) {
			got, err := mc.GetMulti(chunk)
			if err != nil {
				return staleResult{}, fmt.Errorf("read %s cache through its proxy: %w", region, err)
			}
			for k, it := range got {
				res.Checked++
				if string(it.Value) != want[k] {
					res.Stale++
					res.Example = fmt.Sprintf("%s %s: cached %q, primary %q", region, k, it.Value, want[k])
				}
			}
		}
	}
	return res, nil
}

// waitConfirmed polls until every slot's confirmed_flush_lsn has reached
// the primary's WAL insert position as it was when the writers stopped.
func (c *staleChecker) waitConfirmed(ctx context.Context) error {
	var target string
	if err := c.primary.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&target); err != nil {
		return fmt.Errorf("primary wal position: %w", err)
	}
	deadline := time.Now().Add(demoCatchUpTimeout)
	for {
		var behind []string
		rows, err := c.primary.Query(ctx, `SELECT slot_name::text FROM unnest($1::text[]) AS s(slot_name)
			WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots r
				WHERE r.slot_name = s.slot_name AND r.confirmed_flush_lsn >= $2::pg_lsn)`, c.slots, target)
		if err == nil {
			for rows.Next() {
				var s string
				if err = rows.Scan(&s); err != nil {
					break
				}
				behind = append(behind, s)
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
		}
		switch {
		case err != nil:
			return fmt.Errorf("slot positions: %w", err)
		case len(behind) == 0:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("slots %v not confirmed past %s within %s", behind, target, demoCatchUpTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// rows is the expected cache value of every item key, from the primary.
func (c *staleChecker) rows(ctx context.Context) (map[string]string, error) {
	rows, err := c.primary.Query(ctx, `SELECT id, `+demoItemSQL+` FROM public.items`)
	if err != nil {
		return nil, fmt.Errorf("read items: %w", err)
	}
	defer rows.Close()
	want := map[string]string{}
	for rows.Next() {
		var (
			id int
			v  string
		)
		if err := rows.Scan(&id, &v); err != nil {
			return nil, fmt.Errorf("read items: %w", err)
		}
		want["item:"+strconv.Itoa(id)] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read items: %w", err)
	}
	return want, nil
}
