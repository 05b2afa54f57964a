package feed

import (
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SSEHandler serves GET /events: API.md's Server-Sent Events stream.
func (h *Hub) SSEHandler() http.Handler {
	retry := []byte("retry: " + strconv.FormatInt(h.opts.Retry.Milliseconds(), 10) + "\n\n")
	retryChunk := appendChunk(nil, retry)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !acceptsEventStream(r.Header.Get("Accept")) {
			h.opts.Metrics.Rejected.WithLabelValues("bad_request").Inc()
			WriteError(w, &RequestError{Status: http.StatusNotAcceptable,
				Message: "this endpoint streams text/event-stream; send Accept: text/event-stream (or */*)"})
			return
		}
		st, err := h.Open(r, "sse", SSE)
		if err != nil {
			WriteError(w, err)
			return
		}
		SetStreamHeaders(w.Header())
		w.WriteHeader(http.StatusOK)
		if h.hijackSSE(w, r, st, retryChunk, len(retry)) {
			return // the hub's writers own the stream now
		}
		defer st.Close()

		sw := &sseWriter{rc: http.NewResponseController(w), w: w, timeout: h.opts.WriteTimeout,
			bytes: h.opts.Metrics.BytesSent.WithLabelValues("sse")}
		if err := sw.write(retry); err != nil {
			return
		}
		err = st.Run(r.Context(), sw)
		if errors.Is(err, ErrClosed) {
			// Shutting down: a last hint, then the chunked response ends
			// cleanly and EventSource reconnects, to us or another node.
			sw.write(shutdownHint)
		}
	})
}

// SetStreamHeaders sets the headers of an event stream: its type, no
// caching, and no buffering by proxies (nginx reads X-Accel-Buffering).
func SetStreamHeaders(h http.Header) {
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

// sseWriter writes batches to one response: one write, one flush, each
// under its own deadline.
type sseWriter struct {
	rc      *http.ResponseController
	w       http.ResponseWriter
	timeout time.Duration
	bytes   interface{ Add(float64) }
}

var heartbeat = []byte(": heartbeat\n\n")

// WriteBatch writes every message through net/http's per-connection
// buffer and flushes once. No per-client copy: a client that is catching
// up costs its share of the shared frames, nothing more.
func (s *sseWriter) WriteBatch(msgs [][]byte) error {
	if err := s.rc.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	n := 0
	for _, m := range msgs {
		if _, err := s.w.Write(m); err != nil {
			return err
		}
		n += len(m)
	}
	if err := s.rc.Flush(); err != nil {
		return err
	}
	s.bytes.Add(float64(n))
	return nil
}

func (s *sseWriter) Heartbeat() error { return s.write(heartbeat) }

func (s *sseWriter) write(b []byte) error {
	// A per-write deadline, not a server-wide WriteTimeout, which would
	// cut healthy long-lived streams.
	if err := s.rc.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	if err := s.rc.Flush(); err != nil {
		return err
	}
	s.bytes.Add(float64(len(b)))
	return nil
}
