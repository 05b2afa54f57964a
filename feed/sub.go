package feed

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// maxBatchBytes bounds one batch, so a client far behind is caught up in
// several writes, each under its own deadline, rather than one huge one.
const maxBatchBytes = 256 << 10

// Subscription is one client's view of the log: a cursor and a filter. It
// belongs to the goroutine that serves the client; it is not safe for
// concurrent use.
type Subscription struct {
	// Set at construction, then read-only.
	log    *Log
	filter Filter
	ws     bool // the transport is WS: take the WebSocket encoding

	// Owned by the serving goroutine.
	cursor   uint64      // the next id to deliver
	snapshot bool        // a snapshot is owed before anything else
	reset    ResetReason // a reset is owed before the snapshot
	replay   bool        // the subscription resumed from an id
	picked   []*entry    // scratch for conflation
}

// Subscribe starts a subscription. lastID is the client's Last-Event-ID
// ("" for a fresh stream, which starts with a snapshot). An id the log can
// resume from starts delivery right after it, with no snapshot; any other
// id gives a reset and then a snapshot. The transport selects the
// encoding of the frames the subscription hands out.
func (l *Log) Subscribe(f Filter, lastID string, t Transport) *Subscription {
	s := &Subscription{log: l, filter: f, ws: t == WS}
	l.mu.RLock()
	defer l.mu.RUnlock()
	s.cursor = l.next
	if lastID == "" {
		s.snapshot = true
		return s
	}
	id, err := parseID(lastID)
	switch {
	case err != nil:
		s.reset = ResetBadID
	case id >= l.next:
		s.reset = ResetFuture
	case id+1 < l.oldestFor(&f):
		s.reset = ResetTooOld
	default:
		s.cursor = id + 1
		s.replay = true
		return s
	}
	s.snapshot = true
	return s
}

// parseID reads a decimal event id as a browser sends it back. Spaces
// around it are tolerated (the event-stream format drops one after the
// colon; proxies may add more); nothing else is.
func parseID(s string) (uint64, error) {
	return strconv.ParseUint(strings.TrimSpace(s), 10, 64)
}

// Replayed reports whether the subscription resumed from the client's id
// (a replay hit) rather than starting with a snapshot.
func (s *Subscription) Replayed() bool { return s.replay }

// Reset returns the reason the subscription starts with a reset, or "".
func (s *Subscription) Reset() ResetReason { return s.reset }

// Next appends to msgs what the client is owed now: a reset and a snapshot
// if due, then every matching event past the cursor, up to a bounded batch
// (for a throttled subscription, what changed since, conflated: see
// conflate).
// It returns the messages and a channel that is closed when more may be
// owed. The messages are shared and must not be modified.
func (s *Subscription) Next(msgs [][]byte) ([][]byte, <-chan struct{}, []ResetReason) {
	l := s.log
	l.mu.RLock()
	defer l.mu.RUnlock()
	var resets []ResetReason
	if !s.snapshot && s.cursor < l.oldestFor(&s.filter) {
		s.reset, s.snapshot = ResetLapped, true
	}
	if s.reset != "" {
		msgs = append(msgs, s.frame(EventReset, 0, []byte(`{"reason":"`+string(s.reset)+`"}`)))
		resets = append(resets, s.reset)
		s.reset = ""
	}
	if s.snapshot {
		data, id := l.snapshotLocked(s.filter.Symbols)
		msgs = append(msgs, s.frame(EventSnapshot, id, data))
		s.snapshot = false
		s.cursor = l.next
	}
	size := 0
	if s.filter.Throttle > 0 {
		msgs = s.conflate(msgs)
	} else {
		n := uint64(len(l.ring))
		for ; s.cursor < l.next && size < maxBatchBytes; s.cursor++ {
			e := &l.ring[s.cursor%n]
			if s.filter.wants(e) {
				b := s.bytes(e)
				msgs = append(msgs, b)
				size += len(b)
			}
		}
	}
	if s.cursor < l.next {
		return msgs, closedChan, resets
	}
	return msgs, l.wake, resets
}

func (s *Subscription) bytes(e *entry) []byte {
	if s.ws {
		return e.ws
	}
	return e.sse
}

// frame encodes an event made for this subscriber alone (reset, snapshot).
func (s *Subscription) frame(name string, id uint64, data []byte) []byte {
	var b []byte
	if s.ws {
		b, _ = appendWS(make([]byte, 0, len(data)+48), id, name, data)
	} else {
		b, _ = AppendSSE(make([]byte, 0, len(data)+48), id, name, data)
	}
	return b
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Writer is a transport's side of a subscription.
type Writer interface {
	// WriteBatch writes the messages, in order, and flushes them once.
	WriteBatch(msgs [][]byte) error
	// Heartbeat tells the client and every proxy between that the stream
	// is alive (an SSE comment, a WebSocket ping).
	Heartbeat() error
}

// Run delivers the subscription to w until ctx is done, the log is closed
// (ErrClosed) or a write fails (that error). It is the one delivery loop of
// both transports: wake on the log, drain, one batch, one flush; a
// heartbeat when nothing was written for heartbeat. A throttled
// subscription does not wake on the log: it delivers at its ticks only.
// onBatch, if not nil, is told of each batch after it is written.
func (s *Subscription) Run(ctx context.Context, w Writer, heartbeat time.Duration, onBatch func(events int, resets []ResetReason)) error {
	var msgs [][]byte
	hb := time.NewTimer(heartbeat)
	defer hb.Stop()
	var throttle <-chan time.Time
	if s.filter.Throttle > 0 {
		t := time.NewTicker(s.filter.Throttle)
		defer t.Stop()
		throttle = t.C
	}
	var wake <-chan struct{}
	due := true // something may be owed: at the start, after a wake, at a throttled stream's tick
	for {
		if due {
			var resets []ResetReason
			msgs, wake, resets = s.Next(msgs[:0])
			if len(msgs) > 0 {
				if err := w.WriteBatch(msgs); err != nil {
					return err
				}
				clear(msgs) // let go of frames the ring may drop
				if onBatch != nil {
					onBatch(len(msgs), resets)
				}
				hb.Reset(heartbeat)
			}
		}
		if throttle != nil {
			// A throttled stream looks at the log once per interval, at
			// its tick, and at no other time: not when the log grows, not
			// after a heartbeat.
			wake, due = nil, false
		}
		select {
		case <-wake:
		case <-throttle:
			due = true
		case <-ctx.Done():
			return ctx.Err()
		case <-s.log.done:
			return ErrClosed
		case <-hb.C:
			if err := w.Heartbeat(); err != nil {
				return err
			}
			hb.Reset(heartbeat)
		}
	}
}
