package feed

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the Prometheus series every transport reports into. Make one
// per process with NewMetrics and hand it to each handler.
type Metrics struct {
	Clients    *prometheus.GaugeVec     // open streams, by transport
	EventsSent *prometheus.CounterVec   // messages written, by transport
	BytesSent  *prometheus.CounterVec   // bytes of messages written, by transport
	Resets     *prometheus.CounterVec   // resets sent, by reason
	Replay     *prometheus.CounterVec   // resume attempts, by result: hit or miss
	Dropped    *prometheus.CounterVec   // streams the server ended, by transport and cause
	Rejected   *prometheus.CounterVec   // requests refused by a limit, by limit
	Batch      *prometheus.HistogramVec // events per write, by transport: the feed's health signal
	SlowPath   *prometheus.CounterVec   // hijacked streams moved to the slow path and back, by transport and way
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
			Name: "tickertape_resets_total", Help: "Reset events sent, by reason: lapped, bad_id, too_old, future.",
		}, []string{"reason"}),
		Replay: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickertape_replay_total", Help: "Resume requests (a Last-Event-ID), by result: hit (resumed) or miss (reset).",
		}, []string{"result"}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickertape_streams_dropped_total", Help: "Streams the server ended early, by transport and cause: write_timeout, write_error.",
		}, []string{"transport", "cause"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickertape_rejected_total", Help: "Requests refused by a limit, by limit: max_streams, bad_request.",
		}, []string{"limit"}),
		Batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tickertape_batch_events", Help: "Events per write to one client: how far wake-ups batch under load.",
			Buckets: []float64{1, 2, 4, 8, 16, 64, 256, 1024},
		}, []string{"transport"}),
		SlowPath: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickertape_slow_path_total", Help: "Streams on the writers whose socket was full, moved to a goroutine of their own (way=slow), and those that came back (way=back).",
		}, []string{"transport", "way"}),
	}
	for _, t := range []string{"sse", "ws"} {
		m.Clients.WithLabelValues(t)
		m.EventsSent.WithLabelValues(t)
		m.BytesSent.WithLabelValues(t)
	}
	for _, r := range []ResetReason{ResetLapped, ResetBadID, ResetTooOld, ResetFuture} {
		m.Resets.WithLabelValues(string(r))
	}
	m.Replay.WithLabelValues("hit")
	m.Replay.WithLabelValues("miss")
	reg.MustRegister(m.Clients, m.EventsSent, m.BytesSent, m.Resets, m.Replay, m.Dropped, m.Rejected, m.Batch, m.SlowPath)
	return m
}
