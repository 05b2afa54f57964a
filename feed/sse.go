package feed

import (
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The defaults of Options.Retry and Options.WriteTimeout, and of a zero
// argument to StartEventStream.
const (
	defaultRetry        = time.Second
	defaultWriteTimeout = 10 * time.Second
)

var (
	heartbeat    = []byte(": heartbeat\n\n")
	shuttingDown = []byte(": server shutting down; reconnect\nretry: 500\n\n")
)

// SSEHandler serves GET /events: docs/API.md's Server-Sent Events stream.
func (h *Hub) SSEHandler() http.Handler {
	retry := retryLine(h.opts.Retry)
	bytes := h.opts.Metrics.BytesSent.WithLabelValues(SSE.String())
	retryChunk := appendChunk(nil, retry)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !acceptsEventStream(r.Header.Get("Accept")) {
			h.Reject(w, &RequestError{Status: http.StatusNotAcceptable,
				Message: "this endpoint streams text/event-stream; send Accept: text/event-stream (or */*)"})
			return
		}
		st, err := h.Open(r, SSE)
		// Open's one 503 is a full server: for EventSource, "later".
		if re, ok := errors.AsType[*RequestError](err); ok && re.Status == http.StatusServiceUnavailable {
			retryLater(w, re)
			return
		}
		if err != nil {
			WriteError(w, err)
			return
		}
		setStreamHeaders(w.Header())
		w.WriteHeader(http.StatusOK)
		if h.hijackSSE(w, r, st, retryChunk, len(retry)) {
			return // the hub's writers own the stream now
		}
		defer st.Close()

		es, err := writeRetry(w, retry, h.opts.WriteTimeout, bytes)
		if err != nil {
			return
		}
		err = st.Run(r.Context(), es)
		if errors.Is(err, ErrClosed) {
			// Shutting down: a last hint, then the chunked response ends
			// cleanly and EventSource reconnects, to us or another node.
			es.Write(shuttingDown)
		}
	})
}

// EventStream writes one event-stream response: each write under its own
// deadline, then flushed. It is a [Writer], the one /events runs its
// [Stream] on; the job API (GET /api/jobs/{id}/events) writes its progress
// through one too. It belongs to the handler's goroutine.
type EventStream struct {
	rc      *http.ResponseController
	w       http.ResponseWriter
	timeout time.Duration
	bytes   prometheus.Counter // what Write writes; nil: not counted
}

// StartEventStream begins an event-stream response on w: the headers
// (text/event-stream, no caching, no buffering by proxies), 200, and a
// retry: line that tells EventSource how long to wait before it
// reconnects. Each later write must finish within timeout, or it fails and
// the stream should end. A zero retry or timeout takes [Options]' default.
func StartEventStream(w http.ResponseWriter, retry, timeout time.Duration) (*EventStream, error) {
	if retry <= 0 {
		retry = defaultRetry
	}
	return startEventStream(w, retryLine(retry), timeout, nil)
}

func startEventStream(w http.ResponseWriter, retry []byte, timeout time.Duration, bytes prometheus.Counter) (*EventStream, error) {
	if timeout <= 0 {
		timeout = defaultWriteTimeout
	}
	setStreamHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	return writeRetry(w, retry, timeout, bytes)
}

// writeRetry begins an event stream whose headers are written: it writes
// the retry: line.
func writeRetry(w http.ResponseWriter, retry []byte, timeout time.Duration, bytes prometheus.Counter) (*EventStream, error) {
	if timeout <= 0 {
		timeout = defaultWriteTimeout
	}
	es := &EventStream{rc: http.NewResponseController(w), w: w, timeout: timeout, bytes: bytes}
	if err := es.Write(retry); err != nil {
		return nil, err
	}
	return es, nil
}

// retryLater answers a stream request the server cannot take now (it is
// full) with docs/API.md's "later": a 200 event stream with Retry-After, a
// comment naming the reason, the reconnection delay, and the end of the
// response. An error status would close an EventSource for good (the HTML
// standard fails the connection on anything but 200); a 200 stream that
// ends makes it wait retry: and reconnect, keeping its last event id, as
// the answer has neither an event nor an id.
func retryLater(w http.ResponseWriter, re *RequestError) {
	h := w.Header()
	setStreamHeaders(h)
	h.Set("Retry-After", strconv.Itoa(re.RetryAfter))
	b := make([]byte, 0, 128)
	b = append(b, ": "...)
	b = append(b, strings.Map(noLineBreak, re.Message)...)
	b = append(b, '\n')
	b = append(b, retryLine(time.Duration(re.RetryAfter)*time.Second)...)
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// noLineBreak keeps a comment on its line.
func noLineBreak(r rune) rune {
	if r == '\r' || r == '\n' {
		return ' '
	}
	return r
}

func retryLine(d time.Duration) []byte {
	return []byte("retry: " + strconv.FormatInt(d.Milliseconds(), 10) + "\n\n")
}

// setStreamHeaders sets the headers of an event stream: its type, no
// caching, and no buffering by proxies (nginx reads X-Accel-Buffering).
func setStreamHeaders(h http.Header) {
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
}

// acceptsEventStream reports whether an Accept header allows an event
// stream. No header allows anything.
func acceptsEventStream(accept string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q := params["q"]; q == "0" || q == "0.0" || q == "0.00" || q == "0.000" {
			continue
		}
		switch mt {
		case "text/event-stream", "text/*", "*/*":
			return true
		}
	}
	return false
}

// WriteBatch writes every frame, in order, through net/http's
// per-connection buffer and flushes once, all under one deadline. No
// per-client copy: a client that is catching up costs its share of the
// shared frames, nothing more. A [Stream] counts the batch's bytes.
func (s *EventStream) WriteBatch(frames [][]byte) error {
	if err := s.deadline(); err != nil {
		return err
	}
	for _, f := range frames {
		if _, err := s.w.Write(f); err != nil {
			return err
		}
	}
	return s.rc.Flush()
}

// Heartbeat writes a comment, which keeps the stream and every proxy
// between open.
func (s *EventStream) Heartbeat() error { return s.Write(heartbeat) }

// Write writes b, framed already (see [AppendSSE]), and flushes it.
func (s *EventStream) Write(b []byte) error {
	if err := s.deadline(); err != nil {
		return err
	}
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	if err := s.rc.Flush(); err != nil {
		return err
	}
	if s.bytes != nil {
		s.bytes.Add(float64(len(b)))
	}
	return nil
}

// deadline bounds the next write. A per-write deadline, not a server-wide
// WriteTimeout, which would cut healthy long-lived streams.
func (s *EventStream) deadline() error {
	if err := s.rc.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
