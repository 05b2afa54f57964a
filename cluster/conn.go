package cluster

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Names on the broker; see the package comment.
const (
	EventsStream   = "TICKERTAPE"
	StateStream    = "TICKERTAPE_STATE"
	EventsPrefix   = "tickertape.ev."
	SymbolsSubject = "tickertape.symbols"
	HeaderID       = "Tickertape-Id"
	HeaderSymbol   = "Tickertape-Symbol"
)

// Conn is a node's connection to the broker, with the metrics of it.
type Conn struct {
	// Set at construction, then read-only.
	url    string
	nc     *nats.Conn
	js     jetstream.JetStream
	logger *slog.Logger

	disconnects   prometheus.Counter
	published     prometheus.Counter
	received      prometheus.Counter
	publishErrors prometheus.Counter
	gaps          prometheus.Counter
	leader        prometheus.Gauge

	// downSince is when the connection was lost (Unix nanoseconds), 0
	// while it is up; written by the connection's handlers, read by
	// health checks.
	downSince atomic.Int64
}

// Connect connects to the broker at url (nats://host:port, or a comma list
// of them). A broker that cannot be reached now is an error naming url;
// once connected, the client reconnects for as long as the node runs.
func Connect(url string, logger *slog.Logger) (*Conn, error) {
	shown := Redact(url)
	c := &Conn{
		url:    shown,
		logger: logger.With("broker", shown),
		disconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickertape_broker_disconnects_total", Help: "Times the connection to the broker was lost.",
		}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickertape_broker_published_total", Help: "Events this node sent to the broker (sent again after an outage included).",
		}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickertape_broker_received_total", Help: "Events this node appended from the broker.",
		}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickertape_broker_publish_errors_total", Help: "Events this node's market made that the broker never stored: it stopped leading before they were acknowledged. No node served them.",
		}),
		gaps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickertape_broker_gaps_total", Help: "Id gaps seen on the broker; each one resets every client of this node.",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tickertape_broker_leader", Help: "1 while this node leads: it runs the market and publishes it.",
		}),
	}
	nc, err := nats.Connect(url,
		nats.Name("tickertape"),
		nats.MaxReconnects(-1), // a node outlives any broker outage
		nats.ReconnectWait(250*time.Millisecond),
		// No client-side buffer while reconnecting: a publisher keeps what
		// the broker has not acknowledged and sends it again, in order,
		// once it is back (see publishSink). A buffer would send newer
		// events ahead of those lost with the connection.
		nats.ReconnectBufSize(-1),
		nats.Timeout(5*time.Second),
		// A connection that goes silent (a cut network, no reset) is
		// found dead within about 6 s, not the default 4 minutes.
		nats.PingInterval(2*time.Second),
		nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			c.disconnects.Inc()
			c.downSince.CompareAndSwap(0, time.Now().UnixNano())
			c.logger.Warn("broker connection lost; serving the last state until it is back", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			c.downSince.Store(0)
			// Not nc.ConnectedUrlRedacted: it hides a password, not a token.
			c.logger.Info("broker connection back", "server", Redact(nc.ConnectedUrl()))
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("broker %s: %w", shown, redactError(err, url))
	}
	c.nc = nc
	c.js, err = jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithPublishAsyncTimeout(5*time.Second)) // an ack lost with a connection must not hold a slot forever
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("broker %s: %w", shown, err)
	}
	return c, nil
}

// Close waits a little for published events to be acknowledged, then
// closes the connection.
func (c *Conn) Close() {
	select {
	case <-c.js.PublishAsyncComplete():
	case <-time.After(2 * time.Second):
		c.logger.Warn("broker: closing with events not yet acknowledged", "pending", c.js.PublishAsyncPending())
	}
	c.nc.Close()
}

// CutOff reports how long the node has been cut off from the broker, and
// since when; 0 while it is connected.
func (c *Conn) CutOff() (time.Duration, time.Time) {
	ns := c.downSince.Load()
	if ns == 0 {
		return 0, time.Time{}
	}
	since := time.Unix(0, ns)
	return time.Since(since), since
}

// Collectors returns the broker's Prometheus series.
func (c *Conn) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tickertape_broker_connected", Help: "1 while connected to the broker.",
		}, func() float64 {
			if c.nc.IsConnected() {
				return 1
			}
			return 0
		}),
		c.disconnects, c.published, c.received, c.publishErrors, c.gaps, c.leader,
	}
}
