package history

import (
	"encoding/json"
	"fmt"

	"tickertape/market"
)

// Sink returns a market sink that passes every event to next (the node's
// log, or a chain ending in it) and then folds it into the store with the
// id newest reports (the log's newest id: the one it just gave the event).
// The sink is a market.Backfiller, so a source that replays its morning
// hands those trades to the store alone. If next can append events that
// already have ids (a node fed by a broker), so can the returned sink.
//
// Put it outermost: a wrapper around it would hide Backfill.
func (s *Store) Sink(next market.Sink, newest func() uint64) market.Sink {
	base := &sink{store: s, next: next, newest: newest}
	if l, ok := next.(Log); ok {
		return &appendSink{sink: base, log: l}
	}
	return base
}

// sink folds what it passes on.
type sink struct {
	store  *Store
	next   market.Sink
	newest func() uint64
}

var _ market.Backfiller = (*sink)(nil)

// Publish passes the event on, then folds it with its id.
func (k *sink) Publish(name, symbol string, data any) error {
	if err := k.next.Publish(name, symbol, data); err != nil {
		return err
	}
	q, trade := data.(*market.Quote)
	if trade && name == market.EventQuote {
		k.store.fold(k.newest(), q.Symbol, true, q.TS, q.Price, q.Size)
	} else {
		k.store.fold(k.newest(), "", false, 0, 0, 0)
	}
	return nil
}

// Backfill folds a trade made before the source went live; it has no id.
func (k *sink) Backfill(name, _ string, data any) {
	if q, ok := data.(*market.Quote); ok && name == market.EventQuote {
		k.store.Add(q.Symbol, q.TS, q.Price, q.Size)
	}
}

// Log is the side of the log that a broker-fed node uses (the cluster's
// Log): events that come with their ids, and the newest state.
type Log interface {
	Append(id uint64, name, symbol string, raw []byte) error
	Restore(name, symbol string, raw []byte) error
	MarkReady()
	HasMarket() bool
	Newest() uint64
	Snapshot(syms []bool) ([]byte, uint64)
}

// appendSink is a sink whose next appends events with their ids.
type appendSink struct {
	*sink
	log Log
}

// WrapLog returns a Log that passes everything to next and folds each
// event appended with its id into the store: what a node fed by a broker
// feeds, instead of a sink.
func (s *Store) WrapLog(next Log) Log {
	return &appendSink{sink: &sink{store: s, newest: next.Newest}, log: next}
}

// MarkReady, HasMarket, Newest and Snapshot are the log's.
func (k *appendSink) MarkReady()      { k.log.MarkReady() }
func (k *appendSink) HasMarket() bool { return k.log.HasMarket() }
func (k *appendSink) Newest() uint64  { return k.log.Newest() }
func (k *appendSink) Snapshot(syms []bool) ([]byte, uint64) {
	return k.log.Snapshot(syms)
}

// Append passes an event with its id on, then folds it.
func (k *appendSink) Append(id uint64, name, symbol string, raw []byte) error {
	if err := k.log.Append(id, name, symbol, raw); err != nil {
		return err
	}
	if name != market.EventQuote {
		k.store.fold(id, "", false, 0, 0, 0)
		return nil
	}
	var q struct {
		Symbol string  `json:"symbol"`
		Price  float64 `json:"price"`
		Size   int64   `json:"size"`
		TS     float64 `json:"ts"`
	}
	if err := json.Unmarshal(raw, &q); err != nil {
		return fmt.Errorf("history: quote %d: %w", id, err)
	}
	k.store.fold(id, q.Symbol, true, q.TS, q.Price, q.Size)
	return nil
}

// Restore sets the newest state; a state is not a trade, so nothing folds.
func (k *appendSink) Restore(name, symbol string, raw []byte) error {
	return k.log.Restore(name, symbol, raw)
}
