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

// errFenced is a leader's publish refused because the events stream has
// an event this leader did not publish after the one it expected: another
// node published. Its market stops, and it takes the market over again
// (if it still holds the lease) or stands by.
var errFenced = errors.New("another node published to the events stream")

// streams makes sure both streams exist, the events stream keeping the
// newest history events.
func (c *Conn) streams(ctx context.Context, history int) (events, state jetstream.Stream, err error) {
	events, err = c.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        EventsStream,
		Description: "tickertape: every market event in order; header " + HeaderID + " is its id",
		Subjects:    []string{EventsPrefix + ">"},
		MaxMsgs:     int64(history),
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		Duplicates:  time.Minute,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("broker %s: events stream: %w", c.url, err)
	}
	state, err = c.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              StateStream,
		Description:       "tickertape: the newest event per subject, and the universe",
		Subjects:          []string{SymbolsSubject},
		Sources:           []*jetstream.StreamSource{{Name: EventsStream}},
		MaxMsgsPerSubject: 1,
		Storage:           jetstream.FileStorage,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("broker %s: state stream: %w", c.url, err)
	}
	return events, state, nil
}

// announce publishes the universe on the state stream. If the broker holds
// another, the state stream and the others given (the events, the morning)
// are purged first: what they hold names other symbols. Only the node that
// holds the lease announces.
func (c *Conn) announce(ctx context.Context, universe []byte, state jetstream.Stream, others ...jetstream.Stream) error {
	wrap := func(err error) error { return fmt.Errorf("broker %s: %w", c.url, err) }
	old, err := state.GetLastMsgForSubject(ctx, SymbolsSubject)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
	case err != nil:
		return wrap(err)
	case !bytes.Equal(old.Data, universe):
		c.logger.Warn("broker held another universe; purging its streams")
		for _, st := range append(others, state) {
			if err := st.Purge(ctx); err != nil {
				return wrap(err)
			}
		}
	}
	if _, err := c.js.Publish(ctx, SymbolsSubject, universe); err != nil {
		return wrap(fmt.Errorf("publishing the universe: %w", err))
	}
	return nil
}

// tail is the newest event on the events stream: where a new leader's
// market goes on from.
type tail struct {
	seq  uint64 // its stream sequence: the stream's last, 0 if it never had one
	id   uint64 // its id; 0 if the stream holds no event
	pos  uint64 // its index in its source (header Tickertape-Pos)
	term string // the term of the leader that published it (Tickertape-Term)
}

// readTail reads the events stream's newest event.
func (c *Conn) readTail(ctx context.Context, events jetstream.Stream) (tail, error) {
	info, err := events.Info(ctx)
	if err != nil {
		return tail{}, fmt.Errorf("broker %s: events stream: %w", c.url, err)
	}
	t := tail{seq: info.State.LastSeq}
	if info.State.Msgs == 0 {
		return t, nil
	}
	m, err := events.GetMsg(ctx, t.seq)
	if err != nil {
		return tail{}, fmt.Errorf("broker %s: events stream: message %d: %w", c.url, t.seq, err)
	}
	if t.id, err = strconv.ParseUint(m.Header.Get(HeaderID), 10, 64); err != nil {
		return tail{}, fmt.Errorf("broker %s: events stream: message %d has no valid %s header", c.url, t.seq, HeaderID)
	}
	t.pos, _ = strconv.ParseUint(m.Header.Get(HeaderPos), 10, 64)
	t.term = m.Header.Get(HeaderTerm)
	return t, nil
}

// leaderSink publishes a leader's market: each event gets the next id
// after the broker's last and is published asynchronously (the market
// does not wait for each acknowledgement), fenced: each message tells
// the broker the stream sequence it must follow
// (Nats-Expected-Last-Sequence), so the broker refuses it if any other
// node published in between. A leader that lost its lease without knowing
// it (a pause, a cut network) can therefore never interleave its events
// with the new leader's.
//
// The node's own log is fed from the broker, as every node's, so no
// client sees an event the broker does not hold. Events the broker has
// not acknowledged stay queued. While the connection is down the market
// waits in Publish; once it is back, and after any refusal, the sink reads
// the stream's tail: if it is this leader's own (or untouched since its
// term began), it drops what the broker has and sends the rest again, in
// order; if another node published, it fails with errFenced.
type leaderSink struct {
	// Set at construction, then read-only.
	c      *Conn
	ctx    context.Context // the term: done, with its cause, when this node stops leading
	events jetstream.Stream
	sym    map[string]int // symbol → index in the universe, for subjects
	term   string
	from   tail // the stream's tail when the term's market started

	// Owned by the market's goroutine, the one caller of Publish.
	nextID  uint64
	nextPos uint64
	nextSeq uint64    // the stream sequence the next message sent must follow
	queue   []*flight // not yet acknowledged, in id order; the sent ones first
	broken  bool      // a send failed or was refused: resynchronise before sending on
}

// flight is one event on its way to the broker.
type flight struct {
	id  uint64
	msg *nats.Msg
	ack jetstream.PubAckFuture // nil until sent

	answered bool  // the broker's answer (or its absence) is known
	err      error // and it was no acknowledgement
}

// answer takes the broker's answer to f if it has come, or, if wait is not
// nil, waits for it until wait is closed. A future delivers its answer
// once, so it is kept.
func (f *flight) answer(wait <-chan struct{}) bool {
	if f.answered {
		return true
	}
	if wait == nil {
		select {
		case <-f.ack.Ok():
		case f.err = <-f.ack.Err():
		default:
			return false
		}
	} else {
		select {
		case <-f.ack.Ok():
		case f.err = <-f.ack.Err():
		case <-wait:
			return false
		}
	}
	f.answered = true
	return true
}

// newLeaderSink continues the stream after t: the next id is t.id+1 (or
// first, when the stream holds no event), the next position t.pos+1.
func (c *Conn) newLeaderSink(ctx context.Context, events jetstream.Stream, symbols []market.Symbol, term string, t tail, first uint64) *leaderSink {
	s := &leaderSink{c: c, ctx: ctx, events: events, sym: make(map[string]int, len(symbols)), term: term, from: t,
		nextID: first, nextSeq: t.seq}
	for i, sym := range symbols {
		s.sym[sym.Symbol] = i
	}
	if t.id != 0 {
		s.nextID, s.nextPos = t.id+1, t.pos+1
	}
	return s
}

func (s *leaderSink) Publish(name, symbol string, data any) error {
	if err := s.ctx.Err(); err != nil {
		return context.Cause(s.ctx)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("broker: %s: %w", name, err)
	}
	s.queue = append(s.queue, &flight{id: s.nextID, msg: s.message(name, symbol, raw)})
	s.nextID++
	s.nextPos++
	for {
		s.settle()
		if !s.broken && s.sendQueued() {
			return nil
		}
		if err := s.resync(); err != nil {
			return err
		}
	}
}

// message makes the broker message of the next event.
func (s *leaderSink) message(name, symbol string, raw []byte) *nats.Msg {
	subject := EventsPrefix + name
	switch {
	case symbol != "":
		subject += "." + strconv.Itoa(s.sym[symbol])
	case name == market.EventStatus:
		subject = EventsPrefix + "session"
	}
	ids := strconv.FormatUint(s.nextID, 10)
	msg := &nats.Msg{Subject: subject, Data: raw, Header: nats.Header{}}
	msg.Header.Set(HeaderID, ids)
	// The term in the message id: the broker drops a message sent again
	// within a term, but never takes another leader's event of the same
	// id for a duplicate.
	msg.Header.Set(jetstream.MsgIDHeader, s.term+"-"+ids)
	msg.Header.Set(HeaderTerm, s.term)
	msg.Header.Set(HeaderPos, strconv.FormatUint(s.nextPos, 10))
	if symbol != "" {
		// The subject names the symbol by index; the name travels too,
		// so that a consumer notices when the universe changed under it.
		msg.Header.Set(HeaderSymbol, symbol)
	}
	return msg
}

// settle drops the acknowledged events from the front of the queue; an
// event the broker refused, or whose acknowledgement was lost, breaks
// the sink.
func (s *leaderSink) settle() {
	for len(s.queue) > 0 && s.queue[0].ack != nil && s.queue[0].answer(nil) {
		if s.queue[0].err != nil {
			s.broken = true
			return
		}
		s.queue[0] = nil
		s.queue = s.queue[1:]
	}
}

// sendQueued sends the queued events not sent yet, in order, each
// fenced on the one before; false if one could not be sent.
func (s *leaderSink) sendQueued() bool {
	for _, f := range s.queue {
		if f.ack != nil {
			continue
		}
		f.msg.Header.Set(jetstream.ExpectedLastSeqHeader, strconv.FormatUint(s.nextSeq, 10))
		ack, err := s.c.js.PublishMsgAsync(f.msg)
		if err != nil {
			// Not sent: the connection is down, or too many are pending.
			s.broken = true
			return false
		}
		f.ack = ack
		s.nextSeq++
		s.c.published.Inc()
	}
	return true
}

// resync waits for the connection and for every event sent to be
// answered (acknowledged, refused or timed out), then reads the stream's
// tail and takes up the queue from there. It fails with the term's cause
// when the term ends, and with errFenced when another node published.
func (s *leaderSink) resync() error {
	down := false
	for !s.c.nc.IsConnected() {
		if !down {
			down = true
			s.c.logger.Info("broker: the market waits until the broker is back", "queued", len(s.queue))
		}
		if err := s.pause(100 * time.Millisecond); err != nil {
			return err
		}
	}
	for _, f := range s.queue {
		if f.ack != nil && !f.answer(s.ctx.Done()) {
			return context.Cause(s.ctx)
		}
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	t, err := s.c.readTail(ctx, s.events)
	cancel()
	if err != nil {
		if s.ctx.Err() != nil {
			return context.Cause(s.ctx)
		}
		s.c.logger.Warn("broker: reading the events stream's tail to send again", "err", err)
		return s.pause(250 * time.Millisecond) // and try again
	}
	stored := s.from.id // what the broker holds of this term's events: none ...
	switch {
	case t.term == s.term && t.term != "":
		stored = t.id // ... or up to its tail, which is this term's
	case t.seq != s.from.seq:
		return fmt.Errorf("%w: its newest event is %d (term %s), this node's next would be %d", errFenced, t.id, t.term, s.queue[0].id)
	}
	k := 0
	for k < len(s.queue) && s.queue[k].id <= stored {
		k++
	}
	s.queue = append(s.queue[:0], s.queue[k:]...)
	for _, f := range s.queue {
		f.ack, f.answered, f.err = nil, false, nil
	}
	if len(s.queue) > 0 {
		s.c.logger.Info("broker: sending again the events it did not acknowledge", "events", len(s.queue), "from", s.queue[0].id)
	}
	s.nextSeq, s.broken = t.seq, false
	return nil
}

// pause waits d, or fails with the term's cause when it ends first.
func (s *leaderSink) pause(d time.Duration) error {
	select {
	case <-s.ctx.Done():
		return context.Cause(s.ctx)
	case <-time.After(d):
		return nil
	}
}

// drain waits, up to d, until every sent event is answered; it returns
// how many were never stored as far as it knows (queued, or refused).
func (s *leaderSink) drain(d time.Duration) int {
	deadline := make(chan struct{})
	t := time.AfterFunc(d, func() { close(deadline) })
	defer t.Stop()
	lost := 0
	for _, f := range s.queue {
		if f.ack == nil || !f.answer(deadline) || f.err != nil {
			lost++
		}
	}
	return lost
}
