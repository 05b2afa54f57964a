package feed

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configure the streams of both transports. Zero fields take the
// defaults named on each.
type Options struct {
	Heartbeat    time.Duration // longest silence on a stream (15s)
	Retry        time.Duration // the reconnection delay sent to EventSource (1s)
	WriteTimeout time.Duration // the longest one write may block before the client is dropped (10s)
	MaxStreams   int           // open streams of all transports together (10000)
	Query        QueryLimits
	Ahead        *Ahead       // nil: a resume ahead of the log is reset future at once
	Metrics      *Metrics     // required
	Logger       *slog.Logger // nil: slog.Default()
}

func (o *Options) defaults() {
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.Retry <= 0 {
		o.Retry = defaultRetry
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = defaultWriteTimeout
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = 10000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Hub admits and runs the streams of every transport over one log, so
// that limits and metrics count them all together.
type Hub struct {
	// Set at construction, then read-only.
	log  *Log
	opts Options

	open atomic.Int64   // streams admitted and not yet closed
	wg   sync.WaitGroup // one per admitted stream, done at Close

	// Guarded by mu: every open stream, with its transport's way to cut
	// its connection (nil: net/http's own, http.Server.Close).
	mu      sync.Mutex
	streams map[*Stream]func()

	writers pool // the writers of hijacked connections, started with the first
}

// NewHub returns a hub serving log.
func NewHub(log *Log, opts Options) *Hub {
	opts.defaults()
	if opts.Metrics == nil {
		panic("feed: NewHub needs Options.Metrics")
	}
	return &Hub{log: log, opts: opts, streams: map[*Stream]func(){}}
}

// Log returns the hub's log.
func (h *Hub) Log() *Log { return h.log }

// WriteTimeout returns the longest one write to a client may block
// before the client is dropped (Options.WriteTimeout). A transport bounds
// each of its writes by it.
func (h *Hub) WriteTimeout() time.Duration { return h.opts.WriteTimeout }

// Reject answers a stream request that its transport refused before
// opening it (an Origin or an Accept header it cannot serve) with err, as
// [WriteError] does, and counts it among the rejected bad requests.
func (h *Hub) Reject(w http.ResponseWriter, err *RequestError) {
	h.reject(rejectBadRequest)
	WriteError(w, err)
}

// Stream is one admitted client of some transport. Close it when done.
type Stream struct {
	hub       *Hub
	sub       *Subscription
	transport Transport
	remote    string
	closed    atomic.Bool
	stop      context.CancelFunc // ends a stream the writers serve on a goroutine (see Hangup); set before it starts
}

// Open admits a stream request: it parses the query and the client's last
// id (the Last-Event-ID header wins over ?lastEventId=), checks the limits,
// and subscribes with the transport's encoding. The error is a
// *RequestError for the client.
func (h *Hub) Open(r *http.Request, transport Transport) (*Stream, error) {
	f, err := h.log.ParseQuery(r.URL.RawQuery, h.opts.Query)
	if err != nil {
		h.reject(rejectBadRequest)
		return nil, err
	}
	lastID := LastEventID(r)
	h.opts.Ahead.wait(r.Context(), h.log, lastID)
	if n := h.open.Add(1); n > int64(h.opts.MaxStreams) {
		h.open.Add(-1)
		h.reject(rejectMaxStreams)
		return nil, &RequestError{
			Status:     http.StatusServiceUnavailable,
			Message:    "too many open streams (" + strconv.Itoa(h.opts.MaxStreams) + "); retry later or on another node",
			RetryAfter: 5,
		}
	}
	h.wg.Add(1)
	sub := h.log.Subscribe(f, lastID, transport)
	m := h.opts.Metrics
	if lastID != "" {
		result := replayMiss
		if sub.Replayed() {
			result = replayHit
		}
		m.Replay.WithLabelValues(string(result)).Inc()
	}
	m.Clients.WithLabelValues(transport.String()).Inc()
	st := &Stream{hub: h, sub: sub, transport: transport, remote: r.RemoteAddr}
	sub.stream = st
	h.mu.Lock()
	h.streams[st] = nil
	h.mu.Unlock()
	return st, nil
}

// OnCut tells the hub how to close the stream's connection at once, for
// [Hub.Cut]. A transport that took the connection over from net/http (a
// hijacked WebSocket) must: http.Server.Close does not know it.
func (s *Stream) OnCut(cut func()) {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if _, open := s.hub.streams[s]; open {
		s.hub.streams[s] = cut
	}
}

// Cut closes, at once, the connection of every open stream that set
// [Stream.OnCut], and returns how many streams are open: the end of a
// shutdown whose grace ran out, with http.Server.Close for the others. A
// stream blocked in a write then fails it and ends.
func (h *Hub) Cut() int {
	h.mu.Lock()
	n := len(h.streams)
	var cuts []func()
	for _, cut := range h.streams {
		if cut != nil {
			cuts = append(cuts, cut)
		}
	}
	h.mu.Unlock()
	for _, cut := range cuts {
		cut()
	}
	return n
}

// Close releases the stream's place. It is safe to call more than once.
func (s *Stream) Close() {
	if s.closed.Swap(true) {
		return
	}
	s.hub.mu.Lock()
	delete(s.hub.streams, s)
	s.hub.mu.Unlock()
	s.hub.open.Add(-1)
	s.hub.opts.Metrics.Clients.WithLabelValues(s.transport.String()).Dec()
	s.hub.wg.Done()
}

// Wait blocks until every admitted stream is closed or ctx is done. After
// the log is closed, it tells when the last stream (of any transport,
// hijacked WebSockets included) has ended.
func (h *Hub) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { h.wg.Wait(); h.writers.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run delivers the stream to w until ctx is done, the log closes
// (ErrClosed) or a write fails. It counts what w wrote, events and bytes;
// a write that fails is counted and logged once, with its cause.
func (s *Stream) Run(ctx context.Context, w Writer) error {
	m := s.hub.opts.Metrics
	sent := m.EventsSent.WithLabelValues(s.transport.String())
	total := 0
	start := time.Now()
	cw := &countingWriter{Writer: w, bytes: m.BytesSent.WithLabelValues(s.transport.String())}
	err := s.sub.Run(ctx, cw, s.hub.opts.Heartbeat, func(n int, resets []ResetReason) {
		total += n
		sent.Add(float64(n))
		m.Batch.Observe(s.transport, n)
	})
	s.ended(ctx, err, total, start)
	return err
}

// ended counts and logs a stream that ended before shutdown, with its
// cause. ctx is the one the stream ran under (the writers' streams have
// none: context.Background()).
func (s *Stream) ended(ctx context.Context, err error, events int, start time.Time) {
	switch {
	case err == nil, errors.Is(err, ErrClosed), isDone(s.hub.log.done):
		// Ended by the shutdown, which says what it cut: not a drop.
	default:
		s.recordDrop(causeOf(ctx, err), err, events, time.Since(start))
	}
}

func isDone(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// countingWriter counts the bytes of every batch its Writer wrote.
type countingWriter struct {
	Writer
	bytes prometheus.Counter
}

func (c *countingWriter) WriteBatch(msgs [][]byte) error {
	if err := c.Writer.WriteBatch(msgs); err != nil {
		return err
	}
	n := 0
	for _, m := range msgs {
		n += len(m)
	}
	c.bytes.Add(float64(n))
	return nil
}

// reject counts a request refused before it became a stream.
func (h *Hub) reject(cause rejectCause) {
	h.opts.Metrics.Rejected.WithLabelValues(string(cause)).Inc()
}

// recordReset counts a reset sent, and logs the one that tells of a slow
// client.
func (s *Stream) recordReset(r ResetReason) {
	s.hub.opts.Metrics.Resets.WithLabelValues(string(r)).Inc()
	if r == ResetLapped {
		s.hub.opts.Logger.Info("stream lapped: client reads too slowly; sent reset and snapshot",
			"transport", s.transport, "remote", s.remote)
	}
}

// recordDrop counts a stream that ended before shutdown and logs it, once,
// with its cause: the one place a drop becomes a metric and a log line. A
// hang-up is logged at debug: it is how every stream ends some day.
func (s *Stream) recordDrop(cause dropCause, err error, events int, after time.Duration) {
	s.hub.opts.Metrics.Dropped.WithLabelValues(s.transport.String(), string(cause)).Inc()
	level, msg := slog.LevelInfo, "stream dropped"
	if cause == dropClientGone {
		level, msg = slog.LevelDebug, "stream ended: the client hung up"
	}
	s.hub.opts.Logger.Log(context.Background(), level, msg, "transport", s.transport, "remote", s.remote,
		"cause", cause, "events", events, "after", after.Round(time.Millisecond), "err", err)
}

// causeOf tells why a stream's Run returned err: a write that timed out,
// a client that hung up (its context ended: the connection's read side saw
// it go; or the write met a closed or reset connection), or another
// failed write.
func causeOf(ctx context.Context, err error) dropCause {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return dropWriteTimeout
	case ctx.Err() != nil, errors.Is(err, context.Canceled), errors.Is(err, errHangup), hungUp(err):
		return dropClientGone
	}
	return dropWriteError
}

// hungUp reports whether a write failed because the peer closed
// (a broken pipe) or reset the connection, or the connection was closed
// under the write once it had gone.
func hungUp(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, net.ErrClosed)
}
