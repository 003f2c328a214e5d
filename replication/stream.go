package replication

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"
)

// StreamStatus is a snapshot of a Stream for dashboards and health checks.
type StreamStatus struct {
	Slot      string
	Streaming bool
	// Standby is true while another consumer holds the slot.
	Standby     bool
	ReceivedLSN LSN
	AckedLSN    LSN
	// ConfirmedLSN is the flush position last sent to the server.
	ConfirmedLSN LSN
	LastError    string
	// Connected is when the current streaming session started (zero when
	// not streaming).
	Connected time.Time
	// History is the server history the positions belong to (zero before
	// the first connection).
	History History
	// Held is the change the stream is held at (nil when not held); the
	// stream stays held, retrying with backoff, until it gets past it.
	Held *Hold
}

// Stream consumes one logical replication slot.
type Stream struct {
	cfg   Config
	pgcfg *pgconn.Config
	h     Handler
	log   *zap.Logger
	m     *streamMetrics
	tr    tracker

	confirmed atomic.Uint64

	mu        sync.Mutex
	state     streamState
	lastError string
	connected time.Time
	// hold is the change the stream is held at (nil when not held).
	hold *Hold
	// history is the server history of the last session (zero before the
	// first): the positions in tr belong to it.
	history History
	// cancel stops the running Run (nil when Run is not running).
	cancel context.CancelFunc
	// endSession ends the current session (nil between sessions).
	endSession context.CancelFunc
	closed     bool
}

type streamState int

const (
	stateStarting streamState = iota
	stateStreaming
	stateStandby
	stateDown
	// stateHeld: stopped before a change the handler cannot name.
	stateHeld
)

// NewStream validates cfg and prepares a Stream; it connects to nothing.
func NewStream(cfg Config, h Handler) (*Stream, error) {
	cfg.fillDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("replication: nil handler")
	}
	pgcfg, err := pgconn.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("replication: parse DSN %s: %s", RedactDSN(cfg.DSN), ScrubSecrets(err.Error()))
	}
	pgcfg.RuntimeParams["replication"] = "database"
	m, err := newStreamMetrics(cfg.Registerer, cfg.Slot)
	if err != nil {
		return nil, err
	}
	return &Stream{cfg: cfg, pgcfg: pgcfg, h: h, log: cfg.Logger.With(zap.String("slot", cfg.Slot)), m: m}, nil
}

// Run consumes the slot until ctx is done or Close is called, reconnecting
// forever with backoff. It returns nil on shutdown, and an error wrapping
// ErrRefused when the server or the slot is configured in a way it will not
// work with.
func (s *Stream) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("replication: stream closed")
	}
	if s.cancel != nil {
		s.mu.Unlock()
		return errors.New("replication: stream already running")
	}
	ctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.mu.Unlock()
	defer func() {
		cancel()
		s.mu.Lock()
		s.cancel = nil
		s.mu.Unlock()
	}()

	bo := Backoff{Min: s.cfg.ReconnectMin, Max: s.cfg.ReconnectMax}
	// Retrying a held change replays it: it is held again until an operator
	// acts, so those retries back off far longer.
	hb := Backoff{Min: s.cfg.HoldMin, Max: s.cfg.HoldMax}
	for {
		streamed, err := s.session(ctx)
		s.tr.reset()
		if ctx.Err() != nil {
			s.setState(stateDown, nil)
			return nil
		}
		var wait time.Duration
		var he *HoldError
		switch {
		case errors.As(err, &he):
			wait = hb.Next()
		case s.Status().Held != nil:
			// Still held (the connection failed before the held change
			// came again, or an operator's skip ended it).
			s.setState(stateDown, err)
			wait = hb.Next()
		case errors.Is(err, ErrRefused):
			msg := s.setState(stateDown, err)
			s.log.Error("replication refused", zap.String("error", msg))
			return err
		case errors.Is(err, errStandby):
			s.setState(stateStandby, err)
			wait = s.cfg.StandbyRetry
		default:
			if streamed {
				s.m.reconnects.Inc()
				bo.Reset()
			}
			s.setState(stateDown, err)
			wait = bo.Next()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// setState records a state change and logs it once: a retry loop that
// fails the same way every few seconds must not flood the logs. It returns
// err's text with secrets scrubbed ("" when err is nil).
func (s *Stream) setState(st streamState, err error) (msg string) {
	if err != nil {
		msg = ScrubSecrets(err.Error())
	}
	s.mu.Lock()
	prev := s.state
	s.state = st
	if err != nil {
		s.lastError = msg
	}
	if st == stateStreaming {
		s.lastError = ""
		s.connected = time.Now()
	} else {
		s.connected = time.Time{}
	}
	s.mu.Unlock()
	s.m.streaming.Set(b2f(st == stateStreaming))
	s.m.standby.Set(b2f(st == stateStandby))
	if prev == st {
		if err != nil {
			s.log.Debug("replication attempt failed", zap.String("error", msg))
		}
		return msg
	}
	switch st {
	case stateStreaming:
		if prev == stateHeld {
			s.log.Info("replication released: the stream is past the held change")
			return msg
		}
		s.log.Info("replication streaming")
	case stateStandby:
		s.log.Info("replication slot is held by another consumer: standing by to take over")
	case stateDown:
		if err == nil {
			s.log.Info("replication stopped")
			return msg
		}
		if prev == stateStreaming {
			s.log.Warn("replication connection lost; reconnecting", zap.String("error", msg))
		} else {
			s.log.Warn("replication cannot start; retrying", zap.String("error", msg))
		}
	}
	return msg
}

// setHold records that the handler refused a change at pos; it logs once
// per distinct hold (the retries replay the same change: not a change of
// state).
func (s *Stream) setHold(he *HoldError, pos LSN) {
	h := &Hold{Table: he.Table, Columns: he.Columns, Reason: ScrubSecrets(he.Reason), Fix: he.Fix, Skip: s.cfg.HoldAdvice, Position: pos, Since: time.Now()}
	s.tr.holdAt(pos)
	s.mu.Lock()
	same := h.same(s.hold)
	if same {
		h.Since = s.hold.Since
	}
	s.hold, s.state, s.connected = h, stateHeld, time.Time{}
	s.lastError = h.String()
	s.mu.Unlock()
	s.m.streaming.Set(0)
	s.m.standby.Set(0)
	if !same {
		s.log.Error("replication held: a change the key templates cannot name; nothing after it is invalidated until one of the ways out is taken (retrying with backoff)",
			zap.String("table", h.Table), zap.Strings("columns", h.Columns), zap.String("position", pos.String()),
			zap.String("reason", h.Reason), zap.String("way_out_a", h.Fix), zap.String("way_out_b", h.Skip))
	}
}

// release ends a hold: the stream got past the held change.
func (s *Stream) release() {
	s.mu.Lock()
	held := s.hold != nil
	s.hold = nil
	if held {
		// Whatever the state between sessions (a retry that failed to
		// connect), the hold was the state: the change logged is its end.
		s.state = stateHeld
	}
	s.mu.Unlock()
	if held {
		s.setState(stateStreaming, nil)
	}
}

func (s *Stream) holding() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hold != nil
}

func (s *Stream) setHistory(h History) {
	s.mu.Lock()
	s.history = h
	s.mu.Unlock()
}

// Ack acknowledges that the transaction ending at end (Commit.EndLSN), and
// every one before it, has been fully handled. Acks must come in commit
// order; Ack may be called from any goroutine.
func (s *Stream) Ack(end LSN) {
	s.m.acked.Set(float64(s.tr.ack(end)))
}

// Status returns a snapshot of the stream.
func (s *Stream) Status() StreamStatus {
	received, acked := s.tr.snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	return StreamStatus{
		Slot:         s.cfg.Slot,
		Streaming:    s.state == stateStreaming,
		Standby:      s.state == stateStandby,
		ReceivedLSN:  received,
		AckedLSN:     acked,
		ConfirmedLSN: LSN(s.confirmed.Load()),
		LastError:    s.lastError,
		Connected:    s.connected,
		History:      s.history,
		Held:         s.hold,
	}
}

// Close stops Run (which returns once its goroutines have exited). It is
// safe to call more than once.
func (s *Stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.cancel != nil {
		s.cancel()
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Disconnect ends the current replication session, if there is one; Run
// reconnects with backoff and the server sends every unconfirmed
// transaction again (at-least-once). A fast shutdown of the primary waits
// until each walsender's client has confirmed the end of WAL; a consumer
// that holds invalidations (its region's replica is down) cannot, so the
// sidecar disconnects when it sees the primary shutting down rather than
// hold the shutdown.
func (s *Stream) Disconnect() {
	s.mu.Lock()
	end := s.endSession
	s.mu.Unlock()
	if end != nil {
		end()
	}
}
