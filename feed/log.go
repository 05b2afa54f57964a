package feed

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrClosed is returned once the log is closed: the server is shutting down.
var ErrClosed = errors.New("feed: log closed")

// entry is one event in the ring. Its frames are made once by the writer and
// never changed after, so subscribers may hold them without a lock. Each
// encoding is made once with its transport framing around it (an HTTP/1.1
// chunk; a WebSocket frame header), for the connections the hub's writers
// own; the bare frame is a slice of the same bytes. Both encodings share
// one exactly sized buffer: the ring holds thousands of entries (ten
// thousand by default), so a buffer each, grown by append, would cost
// their slack a thousand times over.
type entry struct {
	id     uint64
	frames []byte // the event-stream frame as one chunk, then the twin's message as one unmasked text frame
	sym    int    // index into Log.symbols, or -1 for a market-wide event
	split  int32  // where the WebSocket frame starts in frames
	kind   Kind
	sseHdr uint8 // length of the chunk-size line that frames starts with
	wsHdr  uint8 // length of the WebSocket frame header at split
}

// sseWire is the event-stream frame as one HTTP/1.1 chunk.
func (e *entry) sseWire() []byte { return e.frames[:e.split:e.split] }

// sse is the event-stream frame.
func (e *entry) sse() []byte {
	end := e.split - int32(len(crlf))
	return e.frames[e.sseHdr:end:end]
}

// wsWire is the twin's message as one unmasked WebSocket text frame.
func (e *entry) wsWire() []byte { return e.frames[e.split:] }

// ws is the twin's message.
func (e *entry) ws() []byte { return e.frames[e.split+int32(e.wsHdr):] }

// maxScratch bounds the encoding buffer a log keeps between events, so
// that one huge event does not hold its size for good.
const maxScratch = 64 << 10

// frameEntry encodes event name with data raw into e.frames, in both
// transports' framing, using scratch as room to encode in, and returns the
// scratch to keep for the next event.
func frameEntry(e *entry, scratch []byte, name string, raw []byte) ([]byte, error) {
	b, err := AppendSSE(scratch[:0], e.id, name, raw)
	if err != nil {
		return scratch, err
	}
	n := len(b)
	if b, err = appendWS(b, e.id, name, raw); err != nil {
		return scratch, err
	}
	sse, ws := b[:n], b[n:]
	var ch, wh [maxChunkHeader]byte
	chunk, head := appendChunkHeader(ch[:0], len(sse)), appendWSHeader(wh[:0], opText, len(ws))
	f := make([]byte, 0, len(chunk)+len(sse)+len(crlf)+len(head)+len(ws))
	f = append(append(append(f, chunk...), sse...), crlf...)
	split := len(f)
	f = append(append(f, head...), ws...)
	e.frames, e.split, e.sseHdr, e.wsHdr = f, int32(split), uint8(len(chunk)), uint8(len(head))
	if cap(b) > maxScratch {
		return nil, nil
	}
	return b, nil
}

// Log is the event log: a ring of the newest events, written by one writer
// and read by every subscriber. The zero value is not usable; see [NewLog].
type Log struct {
	// Set at construction, then read-only.
	symbols  []string
	symIndex map[string]int
	done     chan struct{} // closed by Close
	ready    chan struct{} // closed by the first market event

	closeOnce sync.Once

	interest interest      // who waits for which events
	wasted   atomic.Uint64 // wake-ups that found nothing (see interest.go)

	snapSSE, snapWS atomic.Pointer[sharedSnapshot] // the newest snapshot of all symbols

	// Guarded by mu. Publish takes it for writing, subscribers for reading.
	mu      sync.RWMutex
	ring    []entry
	next    uint64   // the id the next event gets
	first   uint64   // the first id of this run
	quotes  [][]byte // newest quote JSON per symbol index
	scores  [][]byte // newest score JSON per symbol index
	status  [][]byte // newest status JSON per symbol index
	session []byte   // newest market-wide status JSON
	market  []byte   // newest market JSON
	// What throttled streams read instead of the ring (throttle.go).
	conflation conflation
	scratch    []byte // where appendLocked encodes an event before framing it
}

// NewLog returns a log for the given symbols that keeps the newest size
// events for resume. Ids start at start (docs/API.md: the run's start in Unix
// microseconds, so ids grow across restarts); start 0 means now.
func NewLog(symbols []string, size int, start uint64) (*Log, error) {
	if size < 1 {
		return nil, fmt.Errorf("feed: replay size %d: must be at least 1", size)
	}
	if start == 0 {
		start = uint64(time.Now().UnixMicro())
	}
	l := &Log{
		symbols:  slices.Clone(symbols),
		symIndex: make(map[string]int, len(symbols)),
		done:     make(chan struct{}),
		ready:    make(chan struct{}),
		ring:     make([]entry, size),
		next:     start,
		first:    start,
		quotes:   make([][]byte, len(symbols)),
		scores:   make([][]byte, len(symbols)),
		status:   make([][]byte, len(symbols)),
	}
	l.conflation = newConflation(len(symbols))
	for i, s := range symbols {
		if _, dup := l.symIndex[s]; dup {
			return nil, fmt.Errorf("feed: symbol %q listed twice", s)
		}
		l.symIndex[s] = i
	}
	return l, nil
}

// Publish appends one market event: name is quote, score, market or status;
// symbol is the event's symbol, or "" for market-wide events; data is
// marshalled to JSON once. Publish is meant for one writer; concurrent
// callers are serialised.
func (l *Log) Publish(name, symbol string, data any) error {
	kind, sym, err := l.resolve(name, symbol)
	if err != nil {
		return fmt.Errorf("feed: publish: %w", err)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("feed: publish %s %s: %w", name, symbol, err)
	}

	l.mu.Lock()
	ready := l.market == nil && kind == KindMarket
	id := l.next
	if err := l.appendLocked(id, kind, sym, name, raw); err != nil {
		l.mu.Unlock()
		return err
	}
	if ready {
		l.markReadyLocked()
	}
	l.unlockAndWake(id, kind, sym)
	return nil
}

// appendLocked frames one event once, for both transports, puts it in the
// ring as the next id and keeps its state for snapshots. Callers hold mu
// for writing, have checked id == l.next, and wake the subscribers that
// want it (unlockAndWake).
func (l *Log) appendLocked(id uint64, kind Kind, sym int, name string, raw []byte) error {
	select {
	case <-l.done:
		return ErrClosed
	default:
	}
	e := entry{id: id, kind: kind, sym: sym}
	var err error
	if l.scratch, err = frameEntry(&e, l.scratch, name, raw); err != nil {
		return err
	}
	l.ring[id%uint64(len(l.ring))] = e
	l.conflation.keep(e)
	l.next++
	l.setState(kind, sym, raw)
	return nil
}

// Close ends the log: every subscription's Run returns ErrClosed, so that
// streams end cleanly and clients reconnect elsewhere. Publish fails after.
func (l *Log) Close() {
	l.closeOnce.Do(func() { close(l.done) })
}

// Ready is closed when the first market event is published. A source
// opens with the whole market's picture and then a market event, so from
// then on a snapshot is complete.
func (l *Log) Ready() <-chan struct{} { return l.ready }

// Done is closed when the log is closed.
func (l *Log) Done() <-chan struct{} { return l.done }

// Newest returns the id of the newest event, or 0 if there is none yet.
func (l *Log) Newest() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.next == l.first {
		return 0
	}
	return l.next - 1
}

// oldest returns the oldest id still in the ring. Callers hold mu.
func (l *Log) oldest() uint64 {
	if n := uint64(len(l.ring)); l.next-l.first > n {
		return l.next - n
	}
	return l.first
}

// Snapshot returns the snapshot event's data for the symbols set in syms
// (nil: all symbols), and the id of the newest event it includes (0 if the
// log is empty).
func (l *Log) Snapshot(syms []bool) (data []byte, id uint64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.snapshotLocked(syms)
}

// framed is an event in one encoding: bare, and within its transport
// framing (see entry).
type framed struct{ wire, bare []byte }

// sharedSnapshot is the snapshot of all symbols as of one id, framed once
// in one encoding for every subscriber that starts then: a crowd that
// connects at once (a deploy, a reconnect storm) costs one snapshot, not
// one each.
type sharedSnapshot struct {
	next uint64 // l.next when it was made
	framed
}

// sharedSnapshotLocked returns the snapshot of all symbols in enc, made
// now or by an earlier subscriber with nothing appended since. Callers hold
// mu (for reading: two subscribers may make it at once, and one wins).
func (l *Log) sharedSnapshotLocked(enc Transport) *framed {
	p := &l.snapSSE
	if enc == WS {
		p = &l.snapWS
	}
	if c := p.Load(); c != nil && c.next == l.next {
		return &c.framed
	}
	data, id := l.snapshotLocked(nil)
	c := &sharedSnapshot{next: l.next}
	if enc == WS {
		c.wire, c.bare, _ = framedWS(id, EventSnapshot, data)
	} else {
		c.wire, c.bare, _ = chunkedSSE(id, EventSnapshot, data)
	}
	p.Store(c)
	return &c.framed
}

// snapshotLocked builds a snapshot from the newest state. Callers hold mu.
func (l *Log) snapshotLocked(syms []bool) ([]byte, uint64) {
	// Sized exactly: a crowd that connects at once makes one each.
	n := len(`{"quotes":,"scores":,"statuses":,"session":,"market":}`) + listLen(l.quotes, syms) +
		listLen(l.scores, syms) + listLen(l.status, syms) + max(len(l.session), len("null")) + max(len(l.market), len("null"))
	b := make([]byte, 0, n)
	b = append(b, `{"quotes":`...)
	b = appendList(b, l.quotes, syms)
	b = append(b, `,"scores":`...)
	b = appendList(b, l.scores, syms)
	b = append(b, `,"statuses":`...)
	b = appendList(b, l.status, syms)
	b = append(b, `,"session":`...)
	b = appendOrNull(b, l.session)
	b = append(b, `,"market":`...)
	b = appendOrNull(b, l.market)
	b = append(b, '}')
	var id uint64
	if l.next != l.first {
		id = l.next - 1
	}
	return b, id
}

func appendList(b []byte, items [][]byte, syms []bool) []byte {
	b = append(b, '[')
	n := 0
	for i, it := range items {
		if it == nil || (syms != nil && !syms[i]) {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
		n++
	}
	return append(b, ']')
}

// listLen is the length of what appendList appends.
func listLen(items [][]byte, syms []bool) int {
	n := len("[]")
	for i, it := range items {
		if it != nil && (syms == nil || syms[i]) {
			n += len(it) + 1 // and its comma: one more than the list has, a byte to spare
		}
	}
	return n
}

func appendOrNull(b, raw []byte) []byte {
	if raw == nil {
		return append(b, "null"...)
	}
	return append(b, raw...)
}

// Collectors returns Prometheus series that read the log itself: events
// published, and the resume buffer's size.
func (l *Log) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "tickertape_events_published_total", Help: "Market events appended to the log.",
		}, func() float64 {
			l.mu.RLock()
			defer l.mu.RUnlock()
			return float64(l.next - l.first)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tickertape_replay_buffer_events", Help: "How many events the resume buffer holds at most.",
		}, func() float64 { return float64(len(l.ring)) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "tickertape_wakeups_wasted_total", Help: "Subscribers woken for an event their filter does not pass (a bug: it should stay 0).",
		}, func() float64 { return float64(l.wasted.Load()) }),
	}
}
