package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"tickertape/market"
)

// Publisher publishes a node's events to the broker.
type Publisher struct {
	c   *Conn
	sym map[string]int // symbol → index in the universe, for subjects
}

// Publisher makes sure both streams exist (the events stream keeping the
// newest history events; history is at least 1, the caller's to check
// with its other settings) and publishes the universe. If the broker holds
// another universe, its streams are purged first: old state would name
// other symbols.
func (c *Conn) Publisher(ctx context.Context, symbols []market.Symbol, history int) (*Publisher, error) {
	wrap := func(err error) error { return fmt.Errorf("broker %s: %w", c.url, err) }
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
