package market

import (
	"context"
	"time"
)

// Sim is the simulated market, as a Source. Each Run starts a fresh market
// from the seed at the wall clock's time.
type Sim struct {
	cfg      Config
	listings []listing
	session  session
}

var _ Source = (*Sim)(nil)

// Symbols lists the simulated symbols with their metadata.
func (s *Sim) Symbols() []Symbol { return symbolsOf(s.listings) }

// symbolsOf returns the metadata of listings, in order.
func symbolsOf(listings []listing) []Symbol {
	out := make([]Symbol, len(listings))
	for i, l := range listings {
		out[i] = l.Symbol
	}
	return out
}

// Run publishes the simulated market to sink until ctx is done; it returns
// nil then, or the sink's error. The market goes live with the day so far
// already traded (morning.go); a Backfiller sink is handed those trades
// first.
func (s *Sim) Run(ctx context.Context, sink Sink) error {
	now := s.cfg.Now
	if now == nil {
		now = time.Now
	}
	m := s.model(now().UnixMicro(), sink)
	return drive(ctx, sink, m, s.cfg.Speed, now)
}

// model builds the market that goes live at start, its morning handed to
// sink if sink is a Backfiller.
func (s *Sim) model(start int64, sink Sink) *sim {
	var early func(name, symbol string, data any)
	if b, ok := sink.(Backfiller); ok {
		early = b.Backfill
	}
	return newSimAfterMorning(s.listings, s.cfg.Seed, s.cfg.Rate, haltFraction(s.cfg.HaltPct), s.session, start, early)
}
