package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"tickertape/cluster"
	"tickertape/feed"
	"tickertape/market"
)

// clusterConfig is what the broker flags say.
type clusterConfig struct {
	url     string
	publish bool
	history int
}

func clusterFlags(fs *flag.FlagSet, c *clusterConfig) {
	fs.StringVar(&c.url, "broker", "", "NATS JetStream URL (nats://host:4222, or a comma list of servers): with -broker-publish this node runs the market and publishes it; without, it serves the market another node publishes")
	fs.BoolVar(&c.publish, "broker-publish", false, "run the market here and publish every event to -broker")
	fs.IntVar(&c.history, "broker-history", 100000, "with -broker-publish: how many events the broker keeps, for nodes that start late")
}

// clusterNode is a node's part in a cluster; nil for a single node. Its
// methods are nil-safe, so that newNode wires it in unconditionally.
type clusterNode struct {
	conn *cluster.Conn
	pub  *cluster.Publisher // nil on a consumer
	cons *consumerSource    // nil on a publisher
}

// consumerSource is a consumer node's market.Source. A consumer does not
// publish to a sink: it feeds the node's log itself, with the publisher's
// ids. clusterNode.Feed hands it the log, before run starts the source.
type consumerSource struct {
	*cluster.Consumer
	log cluster.Log
}

// Run feeds the log that clusterNode.Feed handed over; sink, on a consumer
// node that same log, is not used.
func (s *consumerSource) Run(ctx context.Context, _ market.Sink) error {
	if s.log == nil {
		return errors.New("broker: a consumer started before it was given the node's log")
	}
	return s.Consumer.Run(ctx, s.log)
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
	if cc.history < 1 {
		return nil, nil, fmt.Errorf("-broker-history %d: must be at least 1", cc.history)
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
	node := &clusterNode{conn: conn}
	if cc.publish {
		if node.pub, err = conn.Publisher(ctx, src.Symbols(), cc.history); err != nil {
			conn.Close()
			return nil, nil, err
		}
		return src, node, nil
	}
	cons, err := conn.Consumer(ctx, cfg.replay)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	node.cons = &consumerSource{Consumer: cons}
	return node.cons, node, nil
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

// Sink wraps the node's sink so that a publisher publishes each event,
// with the id log gave it. A consumer's log comes through Feed.
func (n *clusterNode) Sink(sink market.Sink, log *feed.Log) market.Sink {
	if n == nil || n.pub == nil {
		return sink
	}
	return n.pub.Wrap(sink, log.Newest)
}

// Feed hands a consumer node the log it feeds with the publisher's ids
// (the node's log, with its history folded in). Elsewhere it does nothing.
func (n *clusterNode) Feed(log cluster.Log) {
	if n != nil && n.cons != nil {
		n.cons.log = log
	}
}

// Collectors returns the broker's metrics, or none.
func (n *clusterNode) Collectors() []prometheus.Collector {
	if n == nil {
		return nil
	}
	return n.conn.Collectors()
}

// Close closes the broker connection, after the source has stopped.
func (n *clusterNode) Close() {
	if n != nil {
		n.conn.Close()
	}
}

// sourceName says where the node's market comes from, for its logs: the
// broker's URL without its credentials.
func sourceName(cfg *config) string {
	switch {
	case cfg.cluster.url == "":
		return cfg.market.Source
	case cfg.cluster.publish:
		return cfg.market.Source + ", published to " + cluster.Redact(cfg.cluster.url)
	}
	return "broker " + cluster.Redact(cfg.cluster.url)
}
