package feed

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Transport is a way a stream reaches its client. Its value is its metric
// label ("sse", "ws") and its name in the bench; it also selects which of
// an event's two encodings the stream takes.
type Transport string

// The transports, all of them.
const (
	SSE Transport = "sse" // GET /events: event-stream frames
	WS  Transport = "ws"  // GET /ws: the WebSocket twin's messages
)

// Transports returns every transport, in the order the bench runs them.
func Transports() []Transport { return []Transport{SSE, WS} }

func (t Transport) String() string { return string(t) }

// The label values below are every value each metric's label can take,
// listed here and nowhere else: a new one is added here, and NewMetrics
// names it in the metric's help.

// ResetReason says why a subscriber got a reset instead of what it asked
// for. Every reset is counted by its reason.
type ResetReason string

// The reasons for a reset, all of them.
const (
	ResetLapped ResetReason = "lapped"  // the client read too slowly; the ring overtook it
	ResetBadID  ResetReason = "bad_id"  // Last-Event-ID is not a decimal id
	ResetTooOld ResetReason = "too_old" // the id fell off the resume buffer (or is from an earlier run)
	ResetFuture ResetReason = "future"  // the id is newer than anything sent
)

func resetReasons() []ResetReason {
	return []ResetReason{ResetLapped, ResetBadID, ResetTooOld, ResetFuture}
}

// dropCause says why a stream ended before the server shut down.
type dropCause string

// The causes of a drop, all of them.
const (
	dropClientGone   dropCause = "client_gone"   // the client closed or reset its connection: a hang-up, not a fault
	dropWriteTimeout dropCause = "write_timeout" // one write blocked longer than Options.WriteTimeout
	dropWriteError   dropCause = "write_error"   // a write failed otherwise
)

func dropCauses() []dropCause { return []dropCause{dropClientGone, dropWriteTimeout, dropWriteError} }

// rejectCause is the limit a request broke, so that it was refused before
// it became a stream.
type rejectCause string

// The causes of a refusal, all of them.
const (
	rejectMaxStreams rejectCause = "max_streams" // Options.MaxStreams streams are open
	rejectBadRequest rejectCause = "bad_request" // a bad query, Accept or Origin: a 4xx
)

func rejectCauses() []rejectCause { return []rejectCause{rejectMaxStreams, rejectBadRequest} }

// replayResult is the outcome of a resume request.
type replayResult string

// The outcomes of a resume, all of them.
const (
	replayHit  replayResult = "hit"  // the log resumed from the client's id
	replayMiss replayResult = "miss" // it could not: a reset and a snapshot
)

// Metrics are the Prometheus series every transport reports into. Make one
// per process with NewMetrics and hand it to each handler.
type Metrics struct {
	Clients    *prometheus.GaugeVec   // open streams, by transport
	EventsSent *prometheus.CounterVec // messages written, by transport
	BytesSent  *prometheus.CounterVec // bytes of messages written, by transport
	Resets     *prometheus.CounterVec // resets sent, by ResetReason
	Replay     *prometheus.CounterVec // resume attempts, by result: hit or miss
	Dropped    *prometheus.CounterVec // streams that ended before shutdown, by transport and cause (dropCauses)
	Rejected   *prometheus.CounterVec // requests refused by a limit, by limit: max_streams, bad_request
	Batch      *BatchHistogram        // events per write, by transport: the feed's health signal
	SlowPath   *prometheus.CounterVec // hijacked streams moved to the slow path and back, by transport and way
}

// NewMetrics makes the series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Clients: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tickertape_clients", Help: "Open event streams, by transport.",
		}, []string{"transport"}),
		EventsSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickertape_events_sent_total", Help: "Events written to clients (snapshots and resets included), by transport.",
		}, []string{"transport"}),
		BytesSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickertape_bytes_sent_total", Help: "Bytes of events and heartbeats written to clients, by transport.",
		}, []string{"transport"}),
		Resets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickertape_resets_total", Help: "Reset events sent, by reason: " + list(resetReasons()) + ".",
		}, []string{"reason"}),
		Replay: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickertape_replay_total", Help: "Resume requests (a Last-Event-ID), by result: hit (resumed) or miss (reset).",
		}, []string{"result"}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickertape_streams_dropped_total", Help: "Streams that ended before shutdown, by transport and cause: " + list(dropCauses()) + " (client_gone is a hang-up; the others, the server cut the stream).",
		}, []string{"transport", "cause"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickertape_rejected_total", Help: "Requests refused by a limit, by limit: " + list(rejectCauses()) + ".",
		}, []string{"limit"}),
		Batch: newBatchHistogram(),
		SlowPath: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickertape_slow_path_total", Help: "Streams on the writers whose socket was full, moved to a goroutine of their own (way=slow), and those that came back (way=back).",
		}, []string{"transport", "way"}),
	}
	for _, t := range Transports() {
		m.Clients.WithLabelValues(t.String())
		m.EventsSent.WithLabelValues(t.String())
		m.BytesSent.WithLabelValues(t.String())
	}
	for _, r := range resetReasons() {
		m.Resets.WithLabelValues(string(r))
	}
	for _, r := range []replayResult{replayHit, replayMiss} {
		m.Replay.WithLabelValues(string(r))
	}
	reg.MustRegister(m.Clients, m.EventsSent, m.BytesSent, m.Resets, m.Replay, m.Dropped, m.Rejected, m.Batch, m.SlowPath)
	return m
}

// list joins label values for a metric's help: "a, b, c".
func list[T ~string](values []T) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
