package replication

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachesync/cachesync/test/cluster"
	"github.com/jackc/pglogrepl"
)

const wait = 30 * time.Second

type running struct {
	s    *Stream
	h    *recorder
	stop func() error
}

// startStream runs a Stream on p's database "postgres" in the background.
func startStream(t *testing.T, p *cluster.Postgres, slot string, h *recorder, edit func(*Config)) *running {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DSN = p.DSN("postgres")
	cfg.Slot = slot
	cfg.Publication = "pub_" + slot
	cfg.Tables = []Table{{Schema: "public", Name: "users"}, {Schema: "public", Name: "users_full"}}
	cfg.StatusInterval = 50 * time.Millisecond
	cfg.ReconnectMax = 300 * time.Millisecond
	cfg.StandbyRetry = 100 * time.Millisecond
	if edit != nil {
		edit(&cfg)
	}
	s, err := NewStream(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	h.stream = s
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(wait):
				runErr = errors.New("Run did not return after cancel")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
		_ = s.Close()
		_ = s.Close()
	})
	return &running{s: s, h: h, stop: stop}
}

func startPG(t *testing.T, opts ...cluster.PGOption) *cluster.Postgres {
	p := cluster.StartPostgres(t, opts...)
	p.Exec(t, `CREATE TABLE users (id int PRIMARY KEY, name text, bio text)`)
	p.Exec(t, `CREATE TABLE users_full (id int PRIMARY KEY, name text)`)
	p.Exec(t, `ALTER TABLE users_full REPLICA IDENTITY FULL`)
	p.Exec(t, `CREATE TABLE other (id int)`)
	return p
}

func slotLSN(t *testing.T, p *cluster.Postgres, slot string) LSN {
	t.Helper()
	s := p.QueryString(t, "postgres", `SELECT coalesce(confirmed_flush_lsn::text, '0/0') FROM pg_replication_slots WHERE slot_name = $1`, slot)
	l, err := pglogrepl.ParseLSN(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func currentLSN(t *testing.T, p *cluster.Postgres) LSN {
	t.Helper()
	l, err := pglogrepl.ParseLSN(p.QueryString(t, "postgres", `SELECT pg_current_wal_insert_lsn()::text`))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func waitStreaming(t *testing.T, r *running) {
	t.Helper()
	cluster.Eventually(t, wait, func() error {
		if st := r.s.Status(); !st.Streaming {
			return errors.New("not streaming: " + st.LastError)
		}
		return nil
	})
}

func TestChangesArriveWithOldAndNewValues(t *testing.T) {
	t.Parallel()
	p := startPG(t)
	var newSlot atomic.Int32
	h := &recorder{}
	r := startStream(t, p, "changes", h, func(c *Config) {
		c.OnNewSlot = func(ctx context.Context, reason string) error {
			if _, _, n := h.snapshot(); n != 0 {
				t.Errorf("OnNewSlot after %d changes", n)
			}
			newSlot.Add(1)
			return nil
		}
	})
	waitStreaming(t, r)
	if newSlot.Load() != 1 {
		t.Fatalf("OnNewSlot called %d times on first start", newSlot.Load())
	}
	p.Exec(t, `INSERT INTO users VALUES (1, 'ann', NULL)`)
	p.Exec(t, `UPDATE users SET name = 'anne' WHERE id = 1`)
	p.Exec(t, `UPDATE users SET id = 2, name = 'bob' WHERE id = 1`)
	p.Exec(t, `DELETE FROM users WHERE id = 2`)
	p.Exec(t, `INSERT INTO users_full VALUES (1, 'ann')`)
	p.Exec(t, `UPDATE users_full SET name = 'anne' WHERE id = 1`)
	p.Exec(t, `DELETE FROM users_full WHERE id = 1`)
	p.Exec(t, `INSERT INTO other VALUES (1)`) // not published
	p.Exec(t, `TRUNCATE users, users_full`)
	want := []string{
		"INSERT public.users new=(1,ann,NULL)",
		"UPDATE public.users new=(1,anne,NULL)",
		"UPDATE public.users key=(1,NULL,NULL) new=(2,bob,NULL)",
		"DELETE public.users key=(2,NULL,NULL)",
		"INSERT public.users_full new=(1,ann)",
		"UPDATE public.users_full old=(1,ann) new=(1,anne)",
		"DELETE public.users_full old=(1,anne)",
		"TRUNCATE public.users,public.users_full",
	}
	cluster.Eventually(t, wait, func() error { return h.has(want[len(want)-1]) })
	ev, commits, _ := h.snapshot()
	var got []string
	for _, e := range ev {
		if e != "BEGIN" && e != "COMMIT" && !strings.HasPrefix(e, "REL ") {
			got = append(got, e)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(commits) != 8 {
		t.Fatalf("%d commits, want 8", len(commits))
	}
	for i := 1; i < len(commits); i++ {
		if commits[i].EndLSN <= commits[i-1].EndLSN {
			t.Fatalf("commits out of order: %v", commits)
		}
	}
	last := commits[len(commits)-1].EndLSN
	cluster.Eventually(t, wait, func() error {
		if l := slotLSN(t, p, "changes"); l < last {
			return errors.New("confirmed_flush_lsn " + l.String() + " < " + last.String())
		}
		return nil
	})
}

func TestLargeTransactionStreams(t *testing.T) {
	t.Parallel()
	p := startPG(t)
	h := &recorder{}
	r := startStream(t, p, "large", h, nil)
	waitStreaming(t, r)
	const rows = 200000
	p.Exec(t, `INSERT INTO users SELECT g, 'u' || g, NULL FROM generate_series(1, $1) g`, rows)
	cluster.Eventually(t, wait, func() error {
		_, commits, n := h.snapshot()
		if n != rows || len(commits) != 1 {
			return errors.New("not all rows yet")
		}
		return nil
	})
}

func TestConfirmNeverPassesUnackedTransaction(t *testing.T) {
	t.Parallel()
	p := startPG(t)
	h := &recorder{ackPolicy: func(c Commit, txn []string) bool {
		return len(txn) == 0 || !strings.Contains(txn[0], "(2,")
	}}
	r := startStream(t, p, "withhold", h, nil)
	waitStreaming(t, r)
	p.Exec(t, `INSERT INTO users VALUES (1, 'a', NULL)`)
	p.Exec(t, `INSERT INTO users VALUES (2, 'b', NULL)`) // withheld
	p.Exec(t, `INSERT INTO users VALUES (3, 'c', NULL)`) // acked after 2 only
	p.Exec(t, `INSERT INTO other VALUES (1)`)            // WAL after everything
	after := currentLSN(t, p)
	cluster.Eventually(t, wait, func() error { return h.has("INSERT public.users new=(3,c,NULL)") })
	// Let the server send keepalives past everything and status updates go out.
	cluster.Eventually(t, wait, func() error {
		if st := r.s.Status(); st.ReceivedLSN < after {
			return errors.New("received " + st.ReceivedLSN.String() + " < " + after.String())
		}
		return nil
	})
	_, commits, _ := h.snapshot()
	h.mu.Lock()
	begin2 := h.begins[1].FinalLSN
	h.mu.Unlock()
	cluster.Eventually(t, wait, func() error {
		if l := slotLSN(t, p, "withhold"); l != commits[0].EndLSN {
			return errors.New("confirmed " + l.String() + ", want first commit's end " + commits[0].EndLSN.String())
		}
		return nil
	})
	// Several rounds of new WAL and keepalives: the position must stay put.
	for i := range 5 {
		p.Exec(t, `INSERT INTO other VALUES ($1)`, i)
		pos := currentLSN(t, p)
		cluster.Eventually(t, wait, func() error {
			if st := r.s.Status(); st.ReceivedLSN < pos {
				return errors.New("no keepalive past " + pos.String() + " yet")
			}
			return nil
		})
		if l := slotLSN(t, p, "withhold"); l > begin2 {
			t.Fatalf("confirmed_flush_lsn %s passed the unacked transaction starting at %s", l, begin2)
		}
		if st := r.s.Status(); st.ConfirmedLSN > begin2 {
			t.Fatalf("status confirmed %s", st.ConfirmedLSN)
		}
	}
	h.release()
	cluster.Eventually(t, wait, func() error {
		if l := slotLSN(t, p, "withhold"); l < after {
			return errors.New("after release confirmed " + l.String() + " < " + after.String())
		}
		return nil
	})
}

func TestIdleDatabaseConfirmsKeepalive(t *testing.T) {
	t.Parallel()
	p := startPG(t)
	h := &recorder{}
	r := startStream(t, p, "idle", h, nil)
	waitStreaming(t, r)
	p.Exec(t, `INSERT INTO other SELECT generate_series(1, 1000)`) // not published: no transaction reaches the handler
	target := currentLSN(t, p)
	cluster.Eventually(t, wait, func() error {
		if l := slotLSN(t, p, "idle"); l < target {
			return errors.New("confirmed " + l.String() + " < " + target.String())
		}
		return nil
	})
	if _, commits, _ := h.snapshot(); len(commits) != 0 {
		t.Fatalf("handler saw %d commits", len(commits))
	}
}
