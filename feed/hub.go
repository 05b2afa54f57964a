package feed

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure the streams of both transports. Zero fields take the
// defaults named on each.
type Options struct {
	Heartbeat    time.Duration // longest silence on a stream (15s)
	Retry        time.Duration // the reconnection delay sent to EventSource (1s)
	WriteTimeout time.Duration // the longest one write may block before the client is dropped (10s)
	MaxStreams   int           // open streams of all transports together (10000)
	Query        QueryLimits
	Metrics      *Metrics     // required
	Logger       *slog.Logger // nil: slog.Default()
}

func (o *Options) defaults() {
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.Retry <= 0 {
		o.Retry = time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
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

	open    atomic.Int64   // streams admitted and not yet closed
	wg      sync.WaitGroup // one per admitted stream, done at Close
	writers pool           // the writers of hijacked connections, started with the first
}

// NewHub returns a hub serving log.
func NewHub(log *Log, opts Options) *Hub {
	opts.defaults()
	if opts.Metrics == nil {
		panic("feed: NewHub needs Options.Metrics")
	}
	return &Hub{log: log, opts: opts}
}

// Log returns the hub's log.
func (h *Hub) Log() *Log { return h.log }

// Options returns the hub's options, defaults filled in.
func (h *Hub) Options() Options { return h.opts }

// Stream is one admitted client of some transport. Close it when done.
type Stream struct {
	hub       *Hub
	sub       *Subscription
	transport string
	remote    string
	closed    atomic.Bool
}

// Open admits a stream request: it parses the query and the client's last
// id (the Last-Event-ID header wins over ?lastEventId=), checks the limits,
// and subscribes. The error is a *RequestError for the client.
func (h *Hub) Open(r *http.Request, transport string, enc Encoding) (*Stream, error) {
	f, err := h.log.ParseQuery(r.URL.RawQuery, h.opts.Query)
	if err != nil {
		h.opts.Metrics.Rejected.WithLabelValues("bad_request").Inc()
		return nil, err
	}
	lastID := r.Header.Get("Last-Event-ID")
	if lastID == "" {
		lastID = r.URL.Query().Get("lastEventId")
	}
	if n := h.open.Add(1); n > int64(h.opts.MaxStreams) {
		h.open.Add(-1)
		h.opts.Metrics.Rejected.WithLabelValues("max_streams").Inc()
		return nil, &RequestError{
			Status:     http.StatusServiceUnavailable,
			Message:    "too many open streams (" + strconv.Itoa(h.opts.MaxStreams) + "); retry later or on another node",
			RetryAfter: 5,
		}
	}
	h.wg.Add(1)
	sub := h.log.Subscribe(f, lastID, enc)
	m := h.opts.Metrics
	if lastID != "" {
		if sub.Replayed() {
			m.Replay.WithLabelValues("hit").Inc()
		} else {
			m.Replay.WithLabelValues("miss").Inc()
		}
	}
	m.Clients.WithLabelValues(transport).Inc()
	st := &Stream{hub: h, sub: sub, transport: transport, remote: r.RemoteAddr}
	sub.stream = st
	return st, nil
}

// Close releases the stream's place. It is safe to call more than once.
func (s *Stream) Close() {
	if s.closed.Swap(true) {
		return
	}
	s.hub.open.Add(-1)
	s.hub.opts.Metrics.Clients.WithLabelValues(s.transport).Dec()
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
// (ErrClosed) or a write fails. A write that fails is counted and logged
// once, with its cause.
func (s *Stream) Run(ctx context.Context, w Writer) error {
	m := s.hub.opts.Metrics
	sent := m.EventsSent.WithLabelValues(s.transport)
	batch := m.Batch.WithLabelValues(s.transport)
	total := 0
	start := time.Now()
	err := s.sub.Run(ctx, w, s.hub.opts.Heartbeat, func(n int, resets []ResetReason) {
		total += n
		sent.Add(float64(n))
		batch.Observe(float64(n))
	})
	s.ended(err, total, start)
	return err
}

// countReset counts a reset owed to the client, and logs a lapped one.
func (s *Stream) countReset(r ResetReason) {
	s.hub.opts.Metrics.Resets.WithLabelValues(string(r)).Inc()
	if r == ResetLapped {
		s.hub.opts.Logger.Info("stream lapped: client reads too slowly; sent reset and snapshot",
			"transport", s.transport, "remote", s.remote)
	}
}

// ended counts and logs a stream that a write error ended, with its cause.
func (s *Stream) ended(err error, events int, start time.Time) {
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, ErrClosed):
	default:
		cause := "write_error"
		if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
			cause = "write_timeout"
		}
		s.hub.opts.Metrics.Dropped.WithLabelValues(s.transport, cause).Inc()
		s.hub.opts.Logger.Info("stream dropped", "transport", s.transport, "remote", s.remote,
			"cause", cause, "events", events, "after", time.Since(start).Round(time.Millisecond), "err", err)
	}
}

// WriteError writes a client's mistake as API.md's JSON body. Any error
// that is not a *RequestError is a 500 whose text is not shown.
func WriteError(w http.ResponseWriter, err error) {
	var re *RequestError
	if !errors.As(err, &re) {
		re = &RequestError{Status: http.StatusInternalServerError, Message: "internal error"}
	}
	if re.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(re.RetryAfter))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(re.Status)
	b, _ := json.Marshal(re)
	w.Write(append(b, '\n'))
}
