package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	neturl "net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"tickertape/feed"
	"tickertape/market"
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

	// acked is the highest event id the broker acknowledged; written by
	// the ack handler, which must not block, read by the publisher.
	acked atomic.Uint64
}

// Connect connects to the broker at url (nats://host:port, or a comma list
// of them). A broker that cannot be reached now is an error naming url;
// once connected, the client reconnects for as long as the node runs.
func Connect(url string, logger *slog.Logger) (*Conn, error) {
	shown := redact(url)
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
			Name: "tickertape_broker_publish_errors_total", Help: "Events dropped unsent (the queue kept through a broker outage overflowed); consumers see a gap and reset.",
		}),
		gaps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickertape_broker_gaps_total", Help: "Id gaps seen on the broker; each one resets every client of this node.",
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
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			c.disconnects.Inc()
			c.logger.Warn("broker connection lost; serving the last state until it is back", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			c.logger.Info("broker connection back", "server", nc.ConnectedUrlRedacted())
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("broker %s: %w", shown, err)
	}
	c.nc = nc
	c.js, err = jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithPublishAsyncTimeout(5*time.Second), // an ack lost with a connection must not hold a slot forever
		jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, m *nats.Msg, _ *jetstream.PubAck) {
			id, _ := strconv.ParseUint(m.Header.Get(HeaderID), 10, 64)
			for {
				old := c.acked.Load()
				if id <= old || c.acked.CompareAndSwap(old, id) {
					return
				}
			}
		}),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			// Not lost yet: the event stays queued until an ack covers it,
			// and is sent again after a reconnect.
			c.logger.Debug("broker: no ack for an event", "id", m.Header.Get(HeaderID), "err", err)
		}))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("broker %s: %w", shown, err)
	}
	return c, nil
}

// redact hides the credentials of each URL in a comma list (user and
// password, or a token), so that logs and errors can name the broker.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if u, err := neturl.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			u.User = neturl.User("redacted")
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
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
		c.disconnects, c.published, c.received, c.publishErrors, c.gaps,
	}
}

// Publisher publishes a node's events to the broker.
type Publisher struct {
	c   *Conn
	sym map[string]int // symbol → index in the universe, for subjects
}

// Publisher makes sure both streams exist (the events stream keeping the
// newest history events) and publishes the universe. If the broker holds
// another universe, its streams are purged first: old state would name
// other symbols.
func (c *Conn) Publisher(ctx context.Context, symbols []market.Symbol, history int) (*Publisher, error) {
	wrap := func(err error) error { return fmt.Errorf("broker %s: %w", c.url, err) }
	if history < 1 {
		return nil, fmt.Errorf("-broker-history %d: must be at least 1", history)
	}
	universe, err := json.Marshal(symbols)
	if err != nil {
		return nil, wrap(err)
	}
	events, err := c.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        EventsStream,
		Description: "tickertape: every market event in order; header " + HeaderID + " is its id",
		Subjects:    []string{EventsPrefix + ">"},
		MaxMsgs:     int64(history),
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		Duplicates:  time.Minute,
	})
	if err != nil {
		return nil, wrap(fmt.Errorf("events stream: %w", err))
	}
	state, err := c.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              StateStream,
		Description:       "tickertape: the newest event per subject, and the universe",
		Subjects:          []string{SymbolsSubject},
		Sources:           []*jetstream.StreamSource{{Name: EventsStream}},
		MaxMsgsPerSubject: 1,
		Storage:           jetstream.FileStorage,
	})
	if err != nil {
		return nil, wrap(fmt.Errorf("state stream: %w", err))
	}
	old, err := state.GetLastMsgForSubject(ctx, SymbolsSubject)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
	case err != nil:
		return nil, wrap(err)
	case !bytes.Equal(old.Data, universe):
		c.logger.Warn("broker held another universe; purging its streams")
		if err := events.Purge(ctx); err != nil {
			return nil, wrap(err)
		}
		if err := state.Purge(ctx); err != nil {
			return nil, wrap(err)
		}
	}
	if _, err := c.js.Publish(ctx, SymbolsSubject, universe); err != nil {
		return nil, wrap(fmt.Errorf("publishing the universe: %w", err))
	}
	p := &Publisher{c: c, sym: make(map[string]int, len(symbols))}
	for i, s := range symbols {
		p.sym[s.Symbol] = i
	}
	return p, nil
}

// Wrap returns a sink that passes each event to next (the node's log, which
// gives it its id) and then publishes it with that id; newest reports the
// id the log gave the last event.
func (p *Publisher) Wrap(next market.Sink, newest func() uint64) market.Sink {
	return &publishSink{p: p, next: next, newest: newest}
}

// maxUnacked bounds the events kept through a broker outage (about 300
// bytes each); past it the oldest are dropped, and consumers reset.
const maxUnacked = 1 << 16

// publishSink publishes asynchronously: the market never waits for the
// broker. Every event stays queued until the broker acknowledges it (or a
// later one). While the connection is down nothing is sent; once it is
// back, the queue is sent again in order before anything new, and the
// broker drops what it already had (Nats-Msg-Id). So an outage costs
// consumers no event, only time.
type publishSink struct {
	// Set at construction, then read-only.
	p      *Publisher
	next   market.Sink
	newest func() uint64

	// Owned by the market's goroutine, the one caller of Publish.
	unacked []*nats.Msg // in id order
	down    bool        // the connection was lost; resend unacked when back
}

func (s *publishSink) Publish(name, symbol string, data any) error {
	if err := s.next.Publish(name, symbol, data); err != nil {
		return err
	}
	c := s.p.c
	// The log marshalled data too; encoding/json gives the same bytes, and
	// a second marshal costs about a microsecond.
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("broker: %s: %w", name, err)
	}
	subject := EventsPrefix + name
	switch {
	case symbol != "":
		subject += "." + strconv.Itoa(s.p.sym[symbol])
	case name == market.EventStatus:
		subject = EventsPrefix + "session"
	}
	id := s.newest()
	ids := strconv.FormatUint(id, 10)
	msg := &nats.Msg{Subject: subject, Data: raw, Header: nats.Header{}}
	msg.Header.Set(HeaderID, ids)
	msg.Header.Set(jetstream.MsgIDHeader, ids)
	if symbol != "" {
		// The subject names the symbol by index; the name travels too,
		// so that a consumer notices when the universe changed under it.
		msg.Header.Set(HeaderSymbol, symbol)
	}

	s.prune()
	if len(s.unacked) == maxUnacked {
		s.unacked = s.unacked[1:]
		c.publishErrors.Inc()
		if !s.down {
			c.logger.Warn("broker: too many events unacknowledged; dropping the oldest (consumers will reset)")
		}
	}
	s.unacked = append(s.unacked, msg)
	if !c.nc.IsConnected() {
		s.down = true
		return nil
	}
	if s.down {
		// Back: everything the broker may have missed, in order; this
		// event is the last of them.
		c.logger.Info("broker: sending the events kept during the outage", "events", len(s.unacked))
		s.down = false
		for _, m := range s.unacked {
			if !s.send(m) {
				return nil
			}
		}
		return nil
	}
	s.send(msg)
	return nil
}

// send publishes m; on failure with the connection gone the sink goes
// down, keeping m queued for the resend.
func (s *publishSink) send(m *nats.Msg) bool {
	c := s.p.c
	if _, err := c.js.PublishMsgAsync(m); err != nil {
		if !c.nc.IsConnected() {
			s.down = true
			return false
		}
		// Connected but refused (too many acks pending): it stays queued
		// and goes again with the next resend; log it.
		c.logger.Warn("broker did not take an event", "id", m.Header.Get(HeaderID), "err", err)
		s.down = true
		return false
	}
	c.published.Inc()
	return true
}

// prune drops the queued events the broker has acknowledged.
func (s *publishSink) prune() {
	acked := s.p.c.acked.Load()
	k := 0
	for k < len(s.unacked) {
		id, _ := strconv.ParseUint(s.unacked[k].Header.Get(HeaderID), 10, 64)
		if id > acked {
			break
		}
		k++
	}
	if k > 0 {
		s.unacked = append(s.unacked[:0], s.unacked[k:]...)
	}
}

// Consumer is the market of a node fed by the broker: a market.Source whose
// Run appends the publisher's events, with their ids, to the node's log.
type Consumer struct {
	c       *Conn
	symbols []market.Symbol
	replay  int
}

// Log is what a Consumer needs of the node's log; *feed.Log has it.
type Log interface {
	Append(id uint64, name, symbol string, raw []byte) error
	Restore(name, symbol string, raw []byte) error
	MarkReady()
	HasMarket() bool
	Newest() uint64
}

var _ Log = (*feed.Log)(nil)

// Consumer reads the universe from the broker, waiting for a publisher if
// there is none yet (until ctx is done). replay is how many of the newest
// events to replay into the log before serving: the node's -replay.
func (c *Conn) Consumer(ctx context.Context, replay int) (*Consumer, error) {
	var universe []byte
	for {
		st, err := c.js.Stream(ctx, StateStream)
		if err == nil {
			var m *jetstream.RawStreamMsg
			if m, err = st.GetLastMsgForSubject(ctx, SymbolsSubject); err == nil {
				universe = m.Data
				break
			}
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, fmt.Errorf("broker %s: reading the universe: %w", c.url, err)
		}
		c.logger.Info("waiting for a publisher (a node with -broker-publish) to announce the market")
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("broker %s: no publisher has announced a market: %w", c.url, ctx.Err())
		case <-time.After(time.Second):
		}
	}
	var symbols []market.Symbol
	if err := json.Unmarshal(universe, &symbols); err != nil || len(symbols) == 0 {
		return nil, fmt.Errorf("broker %s: the universe on %s is not a list of symbols: %v", c.url, SymbolsSubject, err)
	}
	return &Consumer{c: c, symbols: symbols, replay: replay}, nil
}

// Symbols returns the publisher's universe.
func (cs *Consumer) Symbols() []market.Symbol { return cs.symbols }

// Run catches up (the state, then the newest events), marks the log ready,
// and follows the broker until ctx is done. sink must be the node's log.
func (cs *Consumer) Run(ctx context.Context, sink market.Sink) error {
	log, ok := sink.(Log)
	if !ok {
		return fmt.Errorf("broker: a consumer feeds the log itself, not a %T (-record does not go with a consumer)", sink)
	}
	c := cs.c
	sourced, err := cs.restore(ctx, log)
	if err != nil {
		return err
	}
	events, err := c.js.Stream(ctx, EventsStream)
	if err != nil {
		return fmt.Errorf("broker %s: events stream: %w", c.url, err)
	}
	info, err := events.Info(ctx)
	if err != nil {
		return fmt.Errorf("broker %s: events stream: %w", c.url, err)
	}
	end := info.State.LastSeq // caught up once this one is in
	start := max(info.State.FirstSeq, 1)
	if end >= uint64(cs.replay) && end-uint64(cs.replay)+1 > start {
		start = end - uint64(cs.replay) + 1
	}
	// The state stream sources the events stream a moment behind it: what
	// it has not taken in yet must come from the replay, even if that is
	// more than the resume buffer holds (the ring keeps the newest).
	if sourced+1 < start {
		start = max(sourced+1, info.State.FirstSeq, 1)
	}
	cons, err := events.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   start,
	})
	if err != nil {
		return fmt.Errorf("broker %s: consumer: %w", c.url, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("broker %s: consumer: %w", c.url, err)
	}
	defer it.Stop()
	// Next watches ctx, but not while it re-creates the consumer after a
	// lost connection (it retries for as long as the broker is away);
	// Stop ends that too, at its next attempt.
	stopIt := context.AfterFunc(ctx, it.Stop)
	defer stopIt()
	c.logger.Info("catching up from the broker", "from", start, "to", end)

	ready := false
	checkReady := func(seq uint64) {
		if !ready && seq >= end && log.HasMarket() {
			ready = true
			log.MarkReady()
			c.logger.Info("caught up with the broker", "id", log.Newest(), "seq", seq)
		}
	}
	checkReady(start - 1)
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return fmt.Errorf("broker %s: consumer closed: %w", c.url, err)
			}
			c.logger.Warn("broker: reading events", "err", err)
			continue
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("broker %s: %w", c.url, err)
		}
		if err := cs.append(log, msg); err != nil {
			if errors.Is(err, feed.ErrClosed) {
				return nil
			}
			return err
		}
		checkReady(meta.Sequence.Stream)
	}
}

// append puts one broker message into the log, after checking its id
// against the log's newest: a gap is logged and counted (the log resets
// every client), an old id is skipped.
func (cs *Consumer) append(log Log, msg jetstream.Msg) error {
	c := cs.c
	name, symbol, err := cs.parseSubject(msg.Subject())
	if err != nil {
		return fmt.Errorf("broker %s: %w", c.url, err)
	}
	if h := msg.Headers().Get(HeaderSymbol); h != symbol {
		return fmt.Errorf("broker %s: %s is %q on the publisher, %q here: the publisher's symbols changed; restart this node to take them up", c.url, msg.Subject(), h, symbol)
	}
	id, err := strconv.ParseUint(msg.Headers().Get(HeaderID), 10, 64)
	if err != nil {
		return fmt.Errorf("broker %s: %s without a valid %s header", c.url, msg.Subject(), HeaderID)
	}
	if newest := log.Newest(); newest != 0 && id != newest+1 {
		if id <= newest {
			c.logger.Warn("broker: an event older than the newest, skipped", "id", id, "newest", newest)
			return nil
		}
		c.gaps.Inc()
		c.logger.Warn("broker: id gap (the publisher restarted, or the broker lost events); every client gets a reset and a snapshot",
			"newest", newest, "next", id, "missing", id-newest-1)
	}
	if err := log.Append(id, name, symbol, msg.Data()); err != nil {
		return fmt.Errorf("broker %s: %w", c.url, err)
	}
	c.received.Inc()
	return nil
}

// restore reads the state stream into the log: the newest event of every
// subject, so that the first snapshot is complete. It returns the events
// stream's sequence up to which the state is complete (0 if unknown).
func (cs *Consumer) restore(ctx context.Context, log Log) (uint64, error) {
	c := cs.c
	state, err := c.js.Stream(ctx, StateStream)
	if err != nil {
		return 0, fmt.Errorf("broker %s: state stream: %w", c.url, err)
	}
	info, err := state.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("broker %s: state stream: %w", c.url, err)
	}
	if info.State.Msgs == 0 {
		return 0, nil
	}
	cons, err := state.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return 0, fmt.Errorf("broker %s: state stream: %w", c.url, err)
	}
	n, empty := 0, 0
	var sourced uint64
	for {
		// NoWait: a pull that waits for a full batch would sit out its
		// expiry on a stream this small.
		batch, err := cons.FetchNoWait(256)
		if err != nil {
			return 0, fmt.Errorf("broker %s: state stream: %w", c.url, err)
		}
		got, pending := 0, uint64(1)
		for msg := range batch.Messages() {
			got++
			meta, err := msg.Metadata()
			if err != nil {
				return 0, fmt.Errorf("broker %s: state stream: %w", c.url, err)
			}
			pending = meta.NumPending
			if seq := sourceSeq(msg.Headers()); seq > sourced {
				sourced = seq
			}
			if msg.Subject() == SymbolsSubject {
				continue
			}
			name, symbol, err := cs.parseSubject(msg.Subject())
			if err != nil {
				return 0, fmt.Errorf("broker %s: state stream: %w", c.url, err)
			}
			if err := log.Restore(name, symbol, msg.Data()); err != nil {
				return 0, fmt.Errorf("broker %s: state stream: %w", c.url, err)
			}
			n++
		}
		if err := batch.Error(); err != nil {
			return 0, fmt.Errorf("broker %s: state stream: %w", c.url, err)
		}
		if got > 0 && pending == 0 {
			break
		}
		if got == 0 {
			// The consumer may not have its first messages at hand yet;
			// what the state misses, the events replay mostly fills.
			if empty++; empty == 50 {
				c.logger.Warn("broker: state stream read incomplete", "subjects", n)
				break
			}
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	c.logger.Info("restored the market's state from the broker", "subjects", n, "seq", sourced)
	return sourced, nil
}

// sourceSeq reads the events stream's sequence of a message the state
// stream sourced, from the header the server adds
// ("TICKERTAPE <seq> ..."); 0 if there is none.
func sourceSeq(h nats.Header) uint64 {
	f := strings.Fields(h.Get("Nats-Stream-Source"))
	if len(f) < 2 {
		return 0
	}
	seq, _ := strconv.ParseUint(f[1], 10, 64)
	return seq
}

// parseSubject reads an event subject back into an event name and symbol.
func (cs *Consumer) parseSubject(subject string) (name, symbol string, err error) {
	rest, ok := strings.CutPrefix(subject, EventsPrefix)
	if !ok {
		return "", "", fmt.Errorf("unexpected subject %q", subject)
	}
	name, idx, hasIdx := strings.Cut(rest, ".")
	switch {
	case name == "session" && !hasIdx:
		return market.EventStatus, "", nil
	case name == market.EventMarket && !hasIdx:
		return name, "", nil
	case hasIdx:
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 || i >= len(cs.symbols) {
			return "", "", fmt.Errorf("subject %q: no symbol %q in the universe of %d", subject, idx, len(cs.symbols))
		}
		return name, cs.symbols[i].Symbol, nil
	}
	return "", "", fmt.Errorf("unexpected subject %q", subject)
}
