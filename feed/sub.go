package feed

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// maxBatchBytes bounds one batch, so a client far behind is caught up in
// several writes, each under its own deadline, rather than one huge one.
const maxBatchBytes = 256 << 10

// Subscription is one client's view of the log: a cursor and a filter. It
// belongs to the goroutine that serves the client (or, for a connection the
// hub's writers own, to whichever of them holds it); it is not safe for
// concurrent use.
type Subscription struct {
	// Set at construction, then read-only.
	log    *Log
	filter Filter
	enc    Transport
	wake   chan struct{} // a token when an event the filter passes is appended (made by Run or Next)

	// Set by the log's appender (notify), read by the owner.
	notified atomic.Uint64 // the newest id notified
	pending  atomic.Uint64 // the oldest id notified and not yet delivered, when at or past pos
	wakes    atomic.Uint64 // notifications so far
	conn     atomic.Pointer[hconn]

	// The ids notified since the owner's last look, when they are few: a
	// filtered subscriber takes exactly its events from the ring instead
	// of scanning past everyone else's. notify writes a slot, then inHead;
	// the owner reads up to inHead and keeps inTail.
	inbox  [inboxSize]atomic.Uint64
	inHead atomic.Uint64

	// Published by the owner under the log's read lock, read by notify.
	pos atomic.Uint64 // the cursor as of the owner's last look

	// Guarded by the log's interest.mu.
	watched, unwatched bool

	// Owned by the serving goroutine.
	cursor   uint64      // the next id to deliver
	snapshot bool        // a snapshot is owed before anything else
	reset    ResetReason // a reset is owed before the snapshot
	replay   bool        // the subscription resumed from an id
	inTail   uint64      // inbox ids taken
	scanCut  bool        // the last scan stopped at maxBatchBytes
	live     bool        // watched: every wanted event appended from now on is notified
	scanned  bool        // a look has run since live: events not notified since were not wanted
	wire     bool        // frames come with their transport framing (see entry)
	stream   *Stream     // the hub's stream, told of each reset as it is owed
	picked   []*entry    // scratch for conflation
}

// Subscribe starts a subscription. lastID is the client's Last-Event-ID
// ("" for a fresh stream, which starts with a snapshot). An id the log can
// resume from starts delivery right after it, with no snapshot; any other
// id gives a reset and then a snapshot. The transport selects the
// encoding of the frames the subscription hands out.
func (l *Log) Subscribe(f Filter, lastID string, t Transport) *Subscription {
	s := &Subscription{log: l, filter: f, enc: t}
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
// It returns the messages and a channel that receives when more may be
// owed. The first call puts the subscription in the log's index (as
// [Subscription.Run] does), so that the channel hears of every event the
// filter passes; one read with Next alone stays there until the log is
// closed. The messages are shared and must not be modified.
func (s *Subscription) Next(msgs [][]byte) ([][]byte, <-chan struct{}, []ResetReason) {
	if !s.live && s.filter.Throttle == 0 {
		s.makeWake()
		s.startWatch()
	}
	b := s.take(msgs)
	if b.more {
		return b.msgs, closedChan, b.resets
	}
	return b.msgs, s.wake, b.resets
}

// batch is what one look at the log gives a subscriber.
type batch struct {
	msgs    [][]byte
	events  int // messages that are events (a wire frame may take several pieces)
	payload int // bytes of the events, without transport framing
	resets  []ResetReason
	more    bool // the batch was cut at maxBatchBytes: more is owed now
}

// take is Next's work. With s.wire set, each message carries its transport
// framing, and one made for this subscriber alone may come as several
// pieces.
func (s *Subscription) take(msgs [][]byte) batch {
	s.log.mu.RLock()
	b := s.takeLocked(msgs)
	s.log.mu.RUnlock()
	if s.stream != nil {
		// Counted when owed, before it is written: a client that reads
		// its reset finds it counted.
		for _, r := range b.resets {
			s.stream.recordReset(r)
		}
	}
	return b
}

func (s *Subscription) takeLocked(msgs [][]byte) batch {
	l := s.log
	b := batch{msgs: msgs}
	if oldest := l.oldestFor(&s.filter); !s.snapshot && s.cursor < oldest {
		if s.cursor < l.first || !s.scanned || s.pendingBefore(oldest) {
			s.reset, s.snapshot = ResetLapped, true
		} else {
			// Nothing this filter passes fell off the ring: the
			// subscriber was idle, not late.
			s.cursor = oldest
		}
	}
	if s.reset != "" {
		b.frame(s, EventReset, 0, []byte(`{"reason":"`+string(s.reset)+`"}`))
		b.resets = append(b.resets, s.reset)
		s.reset = ""
	}
	if s.snapshot {
		if s.filter.Symbols == nil {
			b.add(s, l.sharedSnapshotLocked(s.enc))
		} else {
			data, id := l.snapshotLocked(s.filter.Symbols)
			b.frame(s, EventSnapshot, id, data)
		}
		s.snapshot = false
		s.cursor = l.next
	}
	size := 0
	switch {
	case s.filter.Throttle > 0:
		b.msgs = s.conflate(b.msgs, &b)
	case b.events == 0 && s.scanned && !s.scanCut && s.takeInbox(&b):
	default:
		s.inTail = s.inHead.Load() // what the scan finds, the inbox held too
		n := uint64(len(l.ring))
		for ; s.cursor < l.next && size < maxBatchBytes; s.cursor++ {
			e := &l.ring[s.cursor%n]
			if s.filter.wants(e) {
				m := s.bytes(e)
				b.msgs = append(b.msgs, m)
				b.events++
				b.payload += s.bareLen(e)
				size += len(m)
			}
		}
		b.more = s.cursor < l.next
		// Cut at the batch's bound, the scan leaves events that were
		// notified before it: the next look scans on from the cursor.
		s.scanCut = b.more
	}
	s.pos.Store(s.cursor)
	if s.live {
		s.scanned = true
	}
	return b
}

// inboxSize bounds the notified ids a subscription keeps between two looks
// (one less is usable); past that, it scans the ring.
const inboxSize = 8

// takeInbox takes the events notified since the last look, by id, and
// reports whether the inbox held them all (else the caller scans). The
// cursor moves to just past the last one taken: an event appended and not
// yet notified is left for the next look, which its notification brings.
// Callers hold the log's lock.
func (s *Subscription) takeInbox(b *batch) bool {
	// notify writes a slot before it counts it in inHead: once inHead is
	// inboxSize past inTail, the slot at inTail may be rewritten under us.
	head := s.inHead.Load()
	if head-s.inTail >= inboxSize {
		return false
	}
	l := s.log
	n := uint64(len(l.ring))
	size, t, cursor := 0, s.inTail, s.cursor
	fail := func() bool {
		b.msgs, b.events, b.payload = b.msgs[:0], 0, 0
		s.cursor = cursor
		return false
	}
	for ; t < head && size < maxBatchBytes; t++ {
		id := s.inbox[t%inboxSize].Load()
		if id < s.cursor {
			continue // delivered by an earlier scan, or notified twice
		}
		e := &l.ring[id%n]
		if id >= l.next || e.id != id {
			return fail() // not in the ring as notified: let the scan decide
		}
		if s.filter.wants(e) {
			m := s.bytes(e)
			b.msgs = append(b.msgs, m)
			b.events++
			b.payload += s.bareLen(e)
			size += len(m)
		}
		s.cursor = id + 1
	}
	if s.inHead.Load()-s.inTail >= inboxSize {
		return fail() // notify may have rewritten a slot as it was read: scan instead
	}
	s.inTail = t
	b.more = t < head
	return true
}

// pendingBefore reports whether an event the filter passes, notified and
// not yet delivered, is older than oldest: it fell off the ring. Callers
// hold the log's lock.
func (s *Subscription) pendingBefore(oldest uint64) bool {
	p := s.pending.Load()
	return p != 0 && p >= s.cursor && p < oldest
}

// frame adds an event made for this subscriber alone (a reset, a snapshot
// of some symbols).
func (b *batch) frame(s *Subscription, name string, id uint64, data []byte) {
	var f framed
	if s.enc == WS {
		f.wire, f.bare, _ = framedWS(id, name, data)
	} else {
		f.wire, f.bare, _ = chunkedSSE(id, name, data)
	}
	b.add(s, &f)
}

func (b *batch) add(s *Subscription, f *framed) {
	m := f.bare
	if s.wire {
		m = f.wire
	}
	b.msgs = append(b.msgs, m)
	b.events++
	b.payload += len(f.bare)
}

// bareLen is the size of e's message without transport framing: what the
// bytes-sent metric counts, on every path alike.
func (s *Subscription) bareLen(e *entry) int {
	if s.enc == WS {
		return len(e.ws())
	}
	return len(e.sse())
}

func (s *Subscription) bytes(e *entry) []byte {
	switch {
	case s.enc == WS && s.wire:
		return e.wsWire()
	case s.enc == WS:
		return e.ws()
	case s.wire:
		return e.sseWire()
	}
	return e.sse()
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
// both transports on a goroutine of their own: wake on the events the
// filter wants, drain, one batch, one flush; a heartbeat when nothing was
// written for heartbeat. A throttled subscription does not wake on the
// log: it delivers at its ticks only. onBatch, if not nil, is told of each
// batch after it is written.
func (s *Subscription) Run(ctx context.Context, w Writer, heartbeat time.Duration, onBatch func(events int, resets []ResetReason)) error {
	s.makeWake()
	s.startWatch()
	defer s.log.unwatch(s)
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
			before := s.mark()
			var resets []ResetReason
			msgs, wake, resets = s.Next(msgs[:0])
			s.checkWasted(before, len(msgs))
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

// makeWake makes the wake channel of a subscription served on a goroutine
// of its own, before the index can notify it (one the writers serve has
// none: its writer is woken).
func (s *Subscription) makeWake() {
	if s.wake == nil {
		s.wake = make(chan struct{}, 1)
	}
}

// startWatch puts the subscription in the log's index. From the first look
// after it, an event the filter passes is never missed: it is notified.
func (s *Subscription) startWatch() {
	s.log.watch(s)
	s.live = s.filter.Throttle == 0
}
