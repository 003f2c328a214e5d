package proxy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachesync/cachesync/lease"
	"github.com/cachesync/cachesync/lease/route"
)

const (
	dbReaders       = 8
	dbReaderRate    = 250 // reads per second per reader: the same load with and without the gutter
	dbKeysPerServer = 100
	dbWarm          = 2 * time.Second
	dbStopped       = 10 * time.Second
)

// BenchmarkGutterDatabaseReads is the database's load from one stopped
// memcached server of three, with the gutter and without it, under the
// same read load: paced readers read through the proxy with leases and go
// to "the database" (a counter) on a miss, and on SERVER_ERROR, as an app
// would. Without the gutter every read of the stopped server's keys
// reaches the database; with it, a key is read about once per gutter_ttl.
func BenchmarkGutterDatabaseReads(b *testing.B) {
	type figures struct{ stoppedKeys, liveKeys float64 }
	var with, without figures
	for range b.N {
		for _, gutter := range []bool{true, false} {
			s, l := databaseReads(b, gutter)
			if gutter {
				with = figures{s, l}
			} else {
				without = figures{s, l}
			}
		}
	}
	b.ReportMetric(with.stoppedKeys, "db_reads/s_gutter")
	b.ReportMetric(without.stoppedKeys, "db_reads/s_no_gutter")
	fmt.Fprintf(os.Stdout, "\ndatabase reads/s while 1 of 3 memcached servers is SIGSTOPped (%s), %d reads/s through the proxy:\n",
		dbStopped, dbReaders*dbReaderRate)
	fmt.Fprintf(os.Stdout, "%-14s %22s %22s\n", "", "its keys (1/3 of reads)", "the live servers' keys")
	fmt.Fprintf(os.Stdout, "%-14s %22.1f %22.1f\n", "gutter", with.stoppedKeys, with.liveKeys)
	fmt.Fprintf(os.Stdout, "%-14s %22.1f %22.1f\n", "no gutter", without.stoppedKeys, without.liveKeys)
}

// databaseReads runs the readers on a fresh world, stops one server after
// dbWarm and returns the database reads per second, during the stop, for
// its keys and for the others'.
func databaseReads(b *testing.B, gutter bool) (stopped, live float64) {
	mcs, addrs := startMemcached(b, 4)
	p := startProxy(b, func(c *Config) {
		if gutter {
			c.Gutter = addrs[3:]
		}
	}, addrs[:3]...)
	r, err := route.New(route.Config{Servers: addrs[:3]})
	if err != nil {
		b.Fatal(err)
	}
	var keys [3][]string
	for k := 0; len(keys[0]) < dbKeysPerServer || len(keys[1]) < dbKeysPerServer || len(keys[2]) < dbKeysPerServer; k++ {
		key := fmt.Sprintf("db:%d", k)
		if o := r.Owner(key); len(keys[o]) < dbKeysPerServer {
			keys[o] = append(keys[o], key)
		}
	}
	all := append(append(append([]string(nil), keys[0]...), keys[1]...), keys[2]...)
	var reads [3]atomic.Int64 // database reads by owner
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range dbReaders {
		c, err := lease.NewClient(p.Addr())
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			tick := time.NewTicker(time.Second / dbReaderRate)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				key := all[rand.IntN(len(all))]
				fill := func(context.Context) ([]byte, error) {
					reads[r.Owner(key)].Add(1)
					return []byte(strings.ToUpper(key)), nil
				}
				if _, err := c.GetOrFill(ctx, key, 0, fill); err != nil && ctx.Err() == nil {
					_, _ = fill(ctx) // the cache failed: the app reads the database
				}
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()
	pauseFor(dbWarm)
	mcs[1].Pause(b)
	before := [3]int64{reads[0].Load(), reads[1].Load(), reads[2].Load()}
	pauseFor(dbStopped)
	after := [3]int64{reads[0].Load(), reads[1].Load(), reads[2].Load()}
	mcs[1].Resume(b)
	sec := dbStopped.Seconds()
	return float64(after[1]-before[1]) / sec, float64(after[0]-before[0]+after[2]-before[2]) / sec
}

// pauseFor lets the load run for d: a measurement window, not a wait for a
// condition.
func pauseFor(d time.Duration) { <-time.After(d) }
