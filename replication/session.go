package replication

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"go.uber.org/zap"
)

// setupTimeout bounds everything before streaming starts, so a server that
// accepts connections but never answers cannot hang the stream.
const setupTimeout = 30 * time.Second

var errStandby = errors.New("slot is active for another consumer")

// session runs one replication connection: setup, then streaming until the
// connection fails or ctx is done. streamed reports whether it got as far as
// streaming.
func (s *Stream) session(ctx context.Context) (streamed bool, err error) {
	conn, err := s.setup(ctx)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx) // the socket may already be closed: nothing to report
	}()
	if !s.holding() {
		// A held stream reports streaming only once it is past the hold.
		s.setState(stateStreaming, nil)
	}
	return true, s.stream(ctx, conn)
}

func (s *Stream) setup(ctx context.Context) (*pgconn.PgConn, error) {
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	conn, err := pgconn.ConnectConfig(sctx, s.pgcfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.pgcfg.Host, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = conn.Close(context.Background()) // setup failed: its error is the one that matters
		}
	}()
	plan, err := s.prepareSlot(sctx, conn)
	if err != nil {
		return nil, err
	}
	if plan.failover {
		if err := s.startOver(ctx); err != nil {
			return nil, err
		}
	}
	s.tr.resume(plan.resume)
	if plan.reason != "" {
		// A cache flush may take longer than setup; only shutdown stops it.
		if err := s.announceNewSlot(ctx, conn, plan.reason); err != nil {
			return nil, err
		}
	}
	args := []string{"proto_version '1'", "publication_names " + quoteLiteral(pgx.Identifier{s.cfg.Publication}.Sanitize())}
	if s.cfg.Messages {
		args = append(args, "messages 'true'")
	}
	// Start at 0/0: the server resumes from the slot's confirmed_flush_lsn.
	err = pglogrepl.StartReplication(sctx, conn, s.cfg.Slot, 0, pglogrepl.StartReplicationOptions{
		Mode:       pglogrepl.LogicalReplication,
		PluginArgs: args,
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "55006" {
		return nil, fmt.Errorf("start replication on %s: %w (%s)", s.cfg.Slot, errStandby, pe.Message)
	}
	if err != nil {
		return nil, fmt.Errorf("start replication on %s: %w", s.cfg.Slot, err)
	}
	ok = true
	return conn, nil
}

// startOver forgets the positions of the history the stream has left.
// Transactions of that history still in the handler are delivered first:
// their acks carry the old history's positions, which must not land on the
// new one's tracker.
func (s *Stream) startOver(ctx context.Context) error {
	if err := s.tr.drain(ctx, 20*time.Millisecond); err != nil {
		return fmt.Errorf("failover: wait for the old history's transactions: %w", err)
	}
	s.tr.forget()
	s.confirmed.Store(0)
	s.release() // a hold's position belongs to the old history too
	return nil
}

// stream reads the replication protocol on this goroutine (which also runs
// the handler) while status updates go out from another one, so that a
// handler blocking for back-pressure cannot starve the walsender of replies.
func (s *Stream) stream(ctx context.Context, conn *pgconn.PgConn) error {
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.endSession = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.endSession = nil
		s.mu.Unlock()
	}()
	sock := conn.Conn()
	w := &statusWriter{sock: sock, tr: &s.tr, confirmed: &s.confirmed, m: s.m, log: s.log}
	poke := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		// Reads use no context (a cancellable one costs a registration per
		// message); shutdown unblocks them by closing the socket once.
		<-ctx.Done()
		_ = w.send(false) // last chance to confirm the latest acks; the socket may be gone
		_ = sock.Close()
	})
	wg.Go(func() {
		defer cancel()
		t := time.NewTicker(s.cfg.StatusInterval)
		defer t.Stop()
		for {
			var replyIfIdle bool
			select {
			case <-ctx.Done():
				return
			case <-poke:
			case <-t.C:
				// When idle, ask for a keepalive so its position can be
				// confirmed on the next round.
				replyIfIdle = true
			}
			if err := w.send(replyIfIdle); err != nil {
				return
			}
		}
	})
	err := s.receive(ctx, conn, poke)
	cancel()
	wg.Wait()
	return err
}

func (s *Stream) receive(ctx context.Context, conn *pgconn.PgConn, poke chan<- struct{}) error {
	d := &dispatcher{dec: newDecoder(), h: s.h, tr: &s.tr, m: s.m, release: s.release}
	for {
		msg, err := conn.ReceiveMessage(context.Background())
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("receive: %w", err)
		}
		switch msg := msg.(type) {
		case *pgproto3.CopyData:
			if len(msg.Data) == 0 {
				continue
			}
			switch msg.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(msg.Data[1:])
				if err != nil {
					return fmt.Errorf("parse keepalive: %w", err)
				}
				s.tr.keepalive(ka.ServerWALEnd)
				s.m.received.Set(float64(ka.ServerWALEnd))
				if s.tr.pastHold(ka.ServerWALEnd, false) {
					s.release()
				}
				if ka.ReplyRequested {
					select {
					case poke <- struct{}{}:
					default:
					}
				}
			case pglogrepl.XLogDataByteID:
				x, err := pglogrepl.ParseXLogData(msg.Data[1:])
				if err != nil {
					return fmt.Errorf("parse xlogdata: %w", err)
				}
				s.tr.receive(x.WALStart)
				if err := d.dispatch(ctx, x.WALData); err != nil {
					if he := (*HoldError)(nil); errors.As(err, &he) {
						s.setHold(he, d.position(x.WALStart))
					}
					return err
				}
			}
		case *pgproto3.ErrorResponse:
			return fmt.Errorf("server: %w", pgconn.ErrorResponseToPgError(msg))
		case *pgproto3.CopyDone:
			return errors.New("server ended the replication stream")
		}
	}
}

// statusWriter writes standby status updates straight to the socket: a
// net.Conn may be written while another goroutine reads it, which pgconn's
// own API does not allow.
type statusWriter struct {
	mu        sync.Mutex
	sock      net.Conn
	buf       []byte
	tr        *tracker
	confirmed *atomic.Uint64
	m         *streamMetrics
	log       *zap.Logger
	// beyond is the position last refused for being beyond the server's
	// WAL (0: the last report was within it).
	beyond LSN
}

// send reports the tracker's position; with replyIfIdle it asks the server
// for a reply when nothing is in flight.
//
// It never reports a position beyond the connected server's WAL: PostgreSQL
// 15 stores whatever flush position it is sent, and a slot confirmed beyond
// its server's WAL skips every change up to there after the next restart.
// Such a position can only come from another server history (a bug in the
// failover handling): it is clamped and said loudly, once.
func (w *statusWriter) send(replyIfIdle bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	write, flush, idle := w.tr.position()
	end := w.tr.serverEnd()
	if flush > end {
		if w.beyond == 0 {
			w.log.Error("refusing to confirm a position beyond the server's WAL: it belongs to another server history; confirming the server's WAL end instead",
				zap.String("position", flush.String()), zap.String("server_wal_end", end.String()))
		}
		w.beyond, flush = flush, end
	} else if w.beyond != 0 {
		w.log.Info("confirmed position back within the server's WAL", zap.String("position", flush.String()))
		w.beyond = 0
	}
	write = min(write, end)
	w.buf = encodeStandbyStatus(w.buf, write, flush, time.Now(), replyIfIdle && idle)
	_ = w.sock.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := w.sock.Write(w.buf); err != nil {
		_ = w.sock.Close() // make the reader fail too
		return fmt.Errorf("send standby status: %w", err)
	}
	w.confirmed.Store(uint64(flush))
	w.m.confirmed.Set(float64(flush))
	return nil
}
