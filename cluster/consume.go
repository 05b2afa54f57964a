package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"tickertape/feed"
	"tickertape/history"
	"tickertape/market"
)

// Consumer is the market of a node fed by the broker: its Run appends the
// publisher's events, with their ids, to the node's log.
type Consumer struct {
	// Set at construction, then read-only.
	c       *Conn
	symbols []market.Symbol
	replay  int
	watch   bool           // log each change of leader (a Candidate does that itself)
	history *history.Store // the node's bars, which take the morning in (see History); nil: none

	rate rateMeter // written by Run's goroutine, read by any
}

// Log is the node's log as a Consumer feeds it: events that already have
// their ids, the state they set, and the moment it is ready to serve.
// *feed.Log is one, and so is the history's wrapper of it
// ([history.Store.WrapLog]), which declares the interface.
type Log = history.Log

var _ Log = (*feed.Log)(nil)

// Consumer reads the universe from the broker, waiting for a publisher if
// there is none yet (until ctx is done). replay is how many of the newest
// events to replay into the log before serving: as many as its resume
// buffer holds.
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
		c.logger.Info("waiting for a publisher to announce the market on the broker")
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
	return &Consumer{c: c, symbols: symbols, replay: replay, watch: true}, nil
}

// Symbols returns the publisher's universe.
func (cs *Consumer) Symbols() []market.Symbol { return cs.symbols }

// History makes Run fold the morning on the broker into h: the node's
// history, which the log Run feeds folds the events into. The leader of a
// fresh simulated market publishes the trades it made before it went live
// (see morning.go). Call it before Run.
func (cs *Consumer) History(h *history.Store) { cs.history = h }

// Rate returns the market's recent rate in events per second, as the
// broker's clock saw it (so a node cut off from the broker still knows
// it); 0 before Run has read a few seconds of events.
func (cs *Consumer) Rate() float64 { return cs.rate.get() }

// Run catches up (the state, then the newest events) into log, marks it
// ready, and follows the broker until ctx is done or log is closed.
func (cs *Consumer) Run(ctx context.Context, log Log) error {
	c := cs.c
	sourced, err := cs.restore(ctx, log)
	if err != nil {
		return err
	}
	if cs.history != nil {
		// The morning goes in beside the events, as it comes: the
		// history is an aid, and never holds back the node's serving,
		// nor the market of a candidate that waits for its log to catch
		// up before it leads.
		mctx, stop := context.WithCancel(ctx)
		done := cs.followMorning(mctx, cs.history)
		defer func() { stop(); <-done }()
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
	if cs.watch {
		if kv, err := c.js.KeyValue(ctx, LeaseBucket); err == nil {
			done := make(chan struct{})
			defer func() { <-done }()
			wctx, stop := context.WithCancel(ctx)
			defer stop()
			go func() { defer close(done); c.watchLeader(wctx, kv, time.Second, "") }()
		}
	}

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
		cs.rate.add(meta.Timestamp, log.Newest())
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
		cs.rate.reset()
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

// rateMeter estimates the market's rate from the broker's time of the
// events a consumer appended: one sample (time, id) every rateEvery at
// most, the rate over the oldest sample kept.
type rateMeter struct {
	// Owned by the consumer's goroutine.
	samples [16]rateSample
	n, next int

	bits atomic.Uint64 // the rate, a float64
}

type rateSample struct {
	t  time.Time
	id uint64
}

const rateEvery = 250 * time.Millisecond

func (r *rateMeter) add(t time.Time, id uint64) {
	if r.n > 0 {
		if last := r.samples[(r.next+len(r.samples)-1)%len(r.samples)]; t.Sub(last.t) < rateEvery {
			return
		}
	}
	r.samples[r.next] = rateSample{t, id}
	r.next = (r.next + 1) % len(r.samples)
	r.n = min(r.n+1, len(r.samples))
	oldest := r.samples[(r.next+len(r.samples)-r.n)%len(r.samples)]
	if d := t.Sub(oldest.t).Seconds(); d > 0 && id > oldest.id {
		r.bits.Store(math.Float64bits(float64(id-oldest.id) / d))
	}
}

// reset forgets the samples: an id gap is no rate.
func (r *rateMeter) reset() { r.n = 0 }

func (r *rateMeter) get() float64 { return math.Float64frombits(r.bits.Load()) }
