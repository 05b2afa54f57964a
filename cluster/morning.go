package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"tickertape/history"
	"tickertape/market"
)

// The morning: a fresh simulated market goes live with the day so far
// already traded (market.Backfiller). Those trades are no events, so they
// do not travel on the events stream: the leader publishes them on a
// stream of their own before its first event, each symbol's in one
// message or a few (tickertape.morning.<i>.<k>, chunk k of the header
// Tickertape-Chunks, so that a message stays well under the broker's
// largest). Every node folds them into its history (history.Store.Prepend):
// the leader's own, the standbys', the consumers', and nodes that start
// later. A market taken over publishes no morning: the day's bars are
// already on every node.

// Names of the morning on the broker; see the package comment.
const (
	MorningStream = "TICKERTAPE_MORNING"
	MorningPrefix = "tickertape.morning."
	HeaderChunks  = "Tickertape-Chunks"
)

// morningChunk is the most trades one message of the morning holds: about
// 700 kB, under nats-server's default largest message (1 MB). The default
// universe's most traded symbol has a few thousand.
const morningChunk = 20000

// morningStream makes sure the morning stream exists: the newest message
// of each subject.
func (c *Conn) morningStream(ctx context.Context) (jetstream.Stream, error) {
	st, err := c.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              MorningStream,
		Description:       "tickertape: the trades the market made before it went live, by symbol; [ts,price,size] each",
		Subjects:          []string{MorningPrefix + ">"},
		MaxMsgsPerSubject: 1,
		Storage:           jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("broker %s: morning stream: %w", c.url, err)
	}
	return st, nil
}

// morningSink is the sink of a leader that starts a fresh market: it keeps
// the morning the market hands it (Backfill), and publishes it before it
// passes the first event on to next.
type morningSink struct {
	// Set at construction, then read-only.
	next   market.Sink
	c      *Conn
	ctx    context.Context // the term
	stream jetstream.Stream
	index  map[string]int // symbol → index in the universe, for subjects

	// Owned by the market's goroutine.
	trades [][]history.Trade // by symbol index
	sent   bool
}

var _ market.Backfiller = (*morningSink)(nil)

func (c *Conn) newMorningSink(ctx context.Context, next market.Sink, stream jetstream.Stream, symbols []market.Symbol) *morningSink {
	m := &morningSink{next: next, c: c, ctx: ctx, stream: stream, index: make(map[string]int, len(symbols)),
		trades: make([][]history.Trade, len(symbols))}
	for i, s := range symbols {
		m.index[s.Symbol] = i
	}
	return m
}

// Backfill keeps one trade of the morning.
func (m *morningSink) Backfill(name, _ string, data any) {
	if q, ok := data.(*market.Quote); ok && name == market.EventQuote {
		if i, ok := m.index[q.Symbol]; ok {
			m.trades[i] = append(m.trades[i], history.Trade{T: q.TS, P: q.Price, S: q.Size})
		}
	}
}

// Publish publishes the morning first, once, then passes the event on.
func (m *morningSink) Publish(name, symbol string, data any) error {
	if !m.sent {
		m.sent = true
		m.publish()
		m.trades = nil
	}
	return m.next.Publish(name, symbol, data)
}

// publish replaces the morning on the broker with this market's. The
// history is an aid, not the market: a broker that fails it is logged and
// the market goes on. (A leader that lost its lease unawares may still
// replace the morning before its first event is refused; both markets
// started from the same flags moments apart, so their mornings differ
// little, and a node keeps the first one it took in.)
func (m *morningSink) publish() {
	ctx, cancel := context.WithTimeout(m.ctx, 10*time.Second)
	defer cancel()
	logger := m.c.logger
	if err := m.stream.Purge(ctx); err != nil {
		logger.Warn("broker: the morning not published: purging the last market's", "err", err)
		return
	}
	var acks []jetstream.PubAckFuture
	size, trades := 0, 0
	for i, all := range m.trades {
		n := (len(all) + morningChunk - 1) / morningChunk
		for k := range n {
			chunk := all[k*morningChunk : min(len(all), (k+1)*morningChunk)]
			msg := &nats.Msg{Subject: MorningPrefix + strconv.Itoa(i) + "." + strconv.Itoa(k), Data: encodeTrades(chunk), Header: nats.Header{}}
			msg.Header.Set(HeaderChunks, strconv.Itoa(n))
			ack, err := m.c.js.PublishMsgAsync(msg)
			if err != nil {
				logger.Warn("broker: the morning not published", "err", err)
				return
			}
			acks = append(acks, ack)
			size += len(msg.Data)
			trades += len(chunk)
		}
	}
	for _, ack := range acks {
		select {
		case <-ack.Ok():
		case err := <-ack.Err():
			logger.Warn("broker: the morning not stored", "subject", ack.Msg().Subject, "err", err)
			return
		case <-ctx.Done():
			logger.Warn("broker: the morning not acknowledged", "err", context.Cause(ctx))
			return
		}
	}
	logger.Info("published the morning", "trades", trades, "messages", len(acks), "bytes", size)
}

// encodeTrades writes trades as JSON, [[ts,price,size],…].
func encodeTrades(trades []history.Trade) []byte {
	b := make([]byte, 0, 2+len(trades)*32)
	b = append(b, '[')
	for j, tr := range trades {
		if j > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendFloat(b, tr.T, 'f', -1, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, tr.P, 'f', -1, 64)
		b = append(b, ',')
		b = strconv.AppendInt(b, tr.S, 10)
		b = append(b, ']')
	}
	return append(b, ']')
}

// decodeTrades reads what encodeTrades wrote.
func decodeTrades(raw []byte) ([]history.Trade, error) {
	var rows [][3]float64
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, err
	}
	trades := make([]history.Trade, len(rows))
	for j, r := range rows {
		trades[j] = history.Trade{T: r[0], P: r[1], S: int64(r[2])}
	}
	return trades, nil
}

// followMorning folds the morning on the broker into h, on a goroutine
// of its own, until ctx is done: the one the broker holds now, then one
// that a leader starting a fresh market later publishes. done is closed
// when the goroutine has ended.
func (cs *Consumer) followMorning(ctx context.Context, h *history.Store) (done <-chan struct{}) {
	doneC := make(chan struct{})
	go func() {
		defer close(doneC)
		c := cs.c
		st, err := c.js.Stream(ctx, MorningStream)
		if err != nil {
			if ctx.Err() == nil {
				c.logger.Warn("broker: no morning stream; this node's history starts with its first events", "err", err)
			}
			return
		}
		cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
		if err != nil {
			if ctx.Err() == nil {
				c.logger.Warn("broker: morning stream", "err", err)
			}
			return
		}
		it, err := cons.Messages()
		if err != nil {
			c.logger.Warn("broker: morning stream", "err", err)
			return
		}
		defer it.Stop()
		stop := context.AfterFunc(ctx, it.Stop)
		defer stop()
		parts := map[int][][]history.Trade{} // chunks of a symbol's morning, until all are in
		symbols := 0
		for {
			msg, err := it.Next(jetstream.NextContext(ctx))
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			if err != nil {
				c.logger.Warn("broker: reading the morning", "err", err)
				continue
			}
			switch whole, err := cs.takeMorning(h, parts, msg); {
			case err != nil:
				c.logger.Warn("broker: a morning left out", "subject", msg.Subject(), "err", err)
			case whole:
				symbols++
			}
			if meta, err := msg.Metadata(); err == nil && meta.NumPending == 0 && len(parts) == 0 {
				c.logger.Info("took the morning from the broker", "symbols", symbols)
				symbols = 0
			}
		}
	}()
	return doneC
}

// takeMorning keeps one chunk of a symbol's morning in parts, and once
// parts hold every chunk of it, folds the morning into h (whole).
func (cs *Consumer) takeMorning(h *history.Store, parts map[int][][]history.Trade, msg jetstream.Msg) (whole bool, err error) {
	rest, _ := strings.CutPrefix(msg.Subject(), MorningPrefix)
	idx, chunk, _ := strings.Cut(rest, ".")
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 || i >= len(cs.symbols) {
		return false, fmt.Errorf("no symbol %q in the universe of %d", idx, len(cs.symbols))
	}
	k, err := strconv.Atoi(chunk)
	n, err2 := strconv.Atoi(msg.Headers().Get(HeaderChunks))
	if err != nil || err2 != nil || k < 0 || k >= n {
		return false, fmt.Errorf("chunk %q of %q", chunk, msg.Headers().Get(HeaderChunks))
	}
	trades, err := decodeTrades(msg.Data())
	if err != nil {
		return false, err
	}
	p := parts[i]
	if len(p) != n {
		p = make([][]history.Trade, n) // the first chunk, or another morning's
	}
	p[k] = trades
	parts[i] = p
	var all []history.Trade
	for _, c := range p {
		if c == nil {
			return false, nil
		}
		all = append(all, c...)
	}
	delete(parts, i)
	return true, h.Prepend(cs.symbols[i].Symbol, all)
}
