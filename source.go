package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tickertape/cluster"
	"tickertape/feed"
	"tickertape/history"
	"tickertape/market"
)

// clusterConfig is what the broker flags say.
type clusterConfig struct {
	url     string
	publish bool
	history int
	lease   time.Duration
	ahead   time.Duration
	stale   time.Duration
}

func clusterFlags(fs *flag.FlagSet, c *clusterConfig) {
	fs.StringVar(&c.url, "broker", "", "NATS JetStream URL (nats://host:4222, or a comma list of servers): with -broker-publish this node can run the market (one such node leads and publishes it); without, it serves the market the leader publishes")
	fs.BoolVar(&c.publish, "broker-publish", false, "run the market here and publish every event to -broker; of several such nodes one leads, the others stand by")
	fs.IntVar(&c.history, "broker-history", 100000, "with -broker-publish: how many events the broker keeps, for nodes that start late")
	fs.DurationVar(&c.lease, "broker-lease", 3*time.Second, "with -broker-publish: how long the leader's claim lasts unrenewed; a standby takes over at most this long after the leader dies")
	fs.DurationVar(&c.ahead, "broker-ahead", 2*time.Second, "how long a resume from an id a little ahead of this node (no more than this long of events) waits for it, before reset future")
	fs.DurationVar(&c.stale, "broker-stale", 10*time.Second, "/healthz answers 503 once this node has been cut off from the broker this long")
}

// clusterNode is a node's part in a cluster; nil for a single node. Its
// methods are nil-safe, so that newNode wires it in unconditionally.
type clusterNode struct {
	conn  *cluster.Conn
	cfg   clusterConfig
	src   *brokerSource
	cand  *cluster.Candidate // nil on a consumer
	cons  *cluster.Consumer  // nil on a candidate
	rate  func() float64     // the market's recent rate, from the broker
	ahead *feed.Ahead
}

// brokerSource is the market.Source of a node fed by the broker: a
// consumer's, or a candidate's (which also runs the market while it
// leads). It does not publish to a sink: it feeds the node's log itself,
// with the broker's ids. clusterNode.Feed hands it the log, before run
// starts the source.
type brokerSource struct {
	symbols []market.Symbol
	run     func(context.Context, cluster.Log) error
	log     cluster.Log
}

func (s *brokerSource) Symbols() []market.Symbol { return s.symbols }

// Run feeds the log that clusterNode.Feed handed over; sink, on such a
// node that same log, is not used.
func (s *brokerSource) Run(ctx context.Context, _ market.Sink) error {
	if s.log == nil {
		return errors.New("broker: a consumer started before it was given the node's log")
	}
	return s.run(ctx, s.log)
}

// openSource selects and opens the node's market source: the simulation or
// a file, as on a single node, or the broker (consuming another node's
// market, or publishing this one's). It returns the cluster part to wire in.
func openSource(ctx context.Context, cfg *config, logger *slog.Logger) (market.Source, *clusterNode, error) {
	cc := cfg.cluster
	if cc.url == "" {
		if cc.publish {
			return nil, nil, errors.New("-broker-publish needs -broker (the NATS URL to publish to)")
		}
		src, err := openMarket(cfg.market)
		return src, nil, err
	}
	switch {
	case cc.history < 1:
		return nil, nil, fmt.Errorf("-broker-history %d: must be at least 1", cc.history)
	case cc.lease < time.Second:
		return nil, nil, fmt.Errorf("-broker-lease %s: must be at least 1s", cc.lease)
	case cc.ahead < 0:
		return nil, nil, fmt.Errorf("-broker-ahead %s: must be 0 (off) or more", cc.ahead)
	case cc.stale <= 0:
		return nil, nil, fmt.Errorf("-broker-stale %s: must be positive", cc.stale)
	}
	if !cc.publish {
		// A consumer's market is the publisher's: flags that shape a market
		// here would be silently ignored, so they are refused.
		switch {
		case cfg.market.Source != "sim" && cfg.market.Source != "":
			return nil, nil, fmt.Errorf("-source %q: a node without -broker-publish takes its market from -broker", cfg.market.Source)
		case cfg.market.Symbols != "":
			return nil, nil, errors.New("-symbols: a node without -broker-publish takes its symbols from -broker")
		case cfg.record != "":
			return nil, nil, errors.New("-record: record on the node with -broker-publish")
		}
	}
	var src market.Source
	if cc.publish {
		// Open the market first: a bad market flag is reported before
		// anything touches the broker.
		var err error
		if src, err = openMarket(cfg.market); err != nil {
			return nil, nil, err
		}
	}
	conn, err := cluster.Connect(cc.url, logger)
	if err != nil {
		return nil, nil, err
	}
	node := &clusterNode{conn: conn, cfg: cc}
	if cc.publish {
		cand, err := conn.Candidate(ctx, src, cluster.CandidateOptions{
			Name: nodeName(cfg.addr), History: cc.history, Replay: cfg.replay, Lease: cc.lease,
		})
		if err != nil {
			conn.Close()
			return nil, nil, err
		}
		node.cand, node.rate = cand, cand.Rate
		node.src = &brokerSource{symbols: cand.Symbols(), run: cand.Run}
	} else {
		cons, err := conn.Consumer(ctx, cfg.replay)
		if err != nil {
			conn.Close()
			return nil, nil, err
		}
		node.cons, node.rate = cons, cons.Rate
		node.src = &brokerSource{symbols: cons.Symbols(), run: cons.Run}
	}
	if cc.ahead > 0 {
		node.ahead = &feed.Ahead{Wait: cc.ahead, Rate: node.rate, Waiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tickertape_broker_resumes_waiting", Help: "Resumes from an id a moment ahead of this node, waiting for it (-broker-ahead).",
		})}
	}
	return node.src, node, nil
}

// nodeName names this node in the lease and the logs: the host and the
// port it listens on, or, when the port is not known yet (-addr :0), its
// process and a random tag, so that nodes in one process differ too.
func nodeName(addr string) string {
	host, err := os.Hostname()
	if err != nil {
		host = "localhost"
	}
	if _, port, err := net.SplitHostPort(addr); err == nil && port != "0" && port != "" {
		return net.JoinHostPort(host, port)
	}
	return fmt.Sprintf("%s pid %d-%04x", host, os.Getpid(), rand.N(1<<16))
}

// openMarket opens the market the flags describe. The market names a
// setting it cannot use by its Config field; the user set it with a flag,
// so the error names the flag too.
func openMarket(cfg market.Config) (market.Source, error) {
	src, err := market.Open(cfg)
	if ce, ok := errors.AsType[*market.ConfigError](err); ok {
		return nil, fmt.Errorf("%s: %w", marketFlag(ce.Field), err)
	}
	return src, err
}

// marketFlag is the flag that sets a market.Config field.
func marketFlag(field string) string {
	switch field {
	case "Source":
		return "-source"
	case "Symbols":
		return "-symbols"
	case "Rate":
		return "-rate"
	case "Seed":
		return "-seed"
	case "Speed":
		return "-speed"
	case "Session":
		return "-session"
	case "HaltPct":
		return "-halt-pct"
	}
	return "the market's " + field
}

// Feed hands a broker-fed node's source the log it feeds with the
// broker's ids (the node's log, with its history folded in) and the
// node's history, which takes the morning's bars from the broker; the
// node's sink, which a single node's market publishes to, is not used
// then. A candidate records (record, if not nil) what its market
// publishes while it leads. On a single node it does nothing.
func (n *clusterNode) Feed(log cluster.Log, bars *history.Store, record io.Writer) {
	if n == nil {
		return
	}
	n.src.log = log
	if n.cand == nil {
		n.cons.History(bars)
		return
	}
	n.cand.History(bars)
	if record != nil {
		n.cand.Record(record)
	}
}

// Ahead returns how a resume a moment ahead waits, or nil.
func (n *clusterNode) Ahead() *feed.Ahead {
	if n == nil {
		return nil
	}
	return n.ahead
}

// Health returns why the node should get no new clients, or nil: it has
// been cut off from the broker for longer than -broker-stale.
func (n *clusterNode) Health() *cutOffError {
	if n == nil {
		return nil
	}
	if d, since := n.conn.CutOff(); d > n.cfg.stale {
		return &cutOffError{d: d, since: since, stale: n.cfg.stale}
	}
	return nil
}

// cutOffError is a node cut off from its broker for too long.
type cutOffError struct {
	d, stale time.Duration
	since    time.Time
}

func (e *cutOffError) Error() string {
	return fmt.Sprintf("cut off from the broker for %s (longer than -broker-stale %s); serving the market as it stood then", e.d.Round(time.Second), e.stale)
}

// Collectors returns the broker's metrics, or none.
func (n *clusterNode) Collectors() []prometheus.Collector {
	if n == nil {
		return nil
	}
	cs := n.conn.Collectors()
	if n.ahead != nil {
		cs = append(cs, n.ahead.Waiting)
	}
	return cs
}

// Close gives up a lease never used and closes the broker connection,
// after the source has stopped.
func (n *clusterNode) Close() {
	if n == nil {
		return
	}
	if n.cand != nil {
		n.cand.Close()
	}
	n.conn.Close()
}

// sourceName says where the node's market comes from, for its logs: the
// broker's URL without its credentials.
func sourceName(cfg *config) string {
	switch {
	case cfg.cluster.url == "":
		return cfg.market.Source
	case cfg.cluster.publish:
		return cfg.market.Source + ", led by one of the -broker-publish nodes of " + cluster.Redact(cfg.cluster.url)
	}
	return "broker " + cluster.Redact(cfg.cluster.url)
}
