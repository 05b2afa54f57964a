package market

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// DefaultHaltPct is the halt threshold when Config.HaltPct is 0: a move of
// more than 5 % within 5 minutes halts a symbol, as the US limit-up/limit-down
// bands do for large stocks.
const DefaultHaltPct = 5.0

// Config configures a market source; every field has a flag in main.
type Config struct {
	// Source is "" or "sim" for the simulation, or "file:PATH" to play back a
	// CSV of trades or a JSONL recording (see Record).
	Source string
	// Symbols is "" for the default universe (53 large US names with
	// sectors, betas and cap weights), "N" for N symbols (the universe's
	// largest first, then generated ones), or a comma list such as
	// "AAPL,MSFT,ZZZ" (known names keep their metadata, unknown ones get
	// generated metadata). For a file source "" means every symbol in the
	// file and a list keeps only those.
	Symbols string
	// Rate is the simulation's quote events per second for the whole market,
	// on average over a day.
	Rate float64
	// Seed decides the simulated market: same seed, same events.
	Seed int64
	// Speed paces the source against the wall clock: 1 is real time, 2 twice
	// as fast. 0 publishes as fast as the sink takes events and keeps the
	// source's own timestamps (simulated or recorded) instead of the wall
	// clock's.
	Speed float64
	// Session is "" for continuous trading, or "open=DUR,closed=DUR" (Go
	// durations, e.g. "open=2m,closed=30s") for a session that opens, closes
	// and opens again, each opening a new trading day.
	Session string
	// HaltPct halts a symbol that moves more than this percent within 5
	// minutes; 0 means DefaultHaltPct, a negative value disables halts.
	HaltPct float64
	// Now is the wall clock for the live driver; nil means time.Now.
	Now func() time.Time
}

// Open validates cfg and returns the simulation or a file player.
func Open(cfg Config) (Source, error) {
	if bad(cfg.Speed) || cfg.Speed < 0 {
		return nil, fmt.Errorf("market: -speed %v: want 0 (as fast as possible) or more", cfg.Speed)
	}
	if bad(cfg.HaltPct) {
		return nil, fmt.Errorf("market: -halt-pct %v: want a number", cfg.HaltPct)
	}
	sess, err := parseSession(cfg.Session)
	if err != nil {
		return nil, err
	}
	src := cfg.Source
	switch {
	case src == "" || src == "sim":
		if bad(cfg.Rate) || cfg.Rate < 0.001 || cfg.Rate > 1e7 {
			return nil, fmt.Errorf("market: -rate %v: want quote events per second, from 0.001 to 1e7", cfg.Rate)
		}
		ls, err := parseSymbols(cfg.Symbols)
		if err != nil {
			return nil, err
		}
		return &Sim{cfg: cfg, listings: ls, session: sess}, nil
	case strings.HasPrefix(src, "file:"):
		if sess != (session{}) {
			return nil, fmt.Errorf("market: -session %q: a file source plays its own times; leave -session empty", cfg.Session)
		}
		return openFile(strings.TrimPrefix(src, "file:"), cfg)
	default:
		return nil, fmt.Errorf("market: -source %q: want sim or file:PATH", src)
	}
}

func bad(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }

// haltFraction turns the HaltPct flag into a fraction; 0 disables halts.
func haltFraction(pct float64) float64 {
	switch {
	case pct == 0:
		return DefaultHaltPct / 100
	case pct < 0:
		return 0
	}
	return pct / 100
}

// parseSession reads "open=2m,closed=30s".
func parseSession(s string) (session, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "continuous" {
		return session{}, nil
	}
	var ss session
	for _, f := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if !ok || err != nil || d < time.Second {
			return session{}, fmt.Errorf("market: -session %q: %q: want open=DURATION,closed=DURATION with durations of at least 1s, e.g. open=2m,closed=30s", s, f)
		}
		switch strings.TrimSpace(k) {
		case "open":
			ss.open = d.Microseconds()
		case "closed":
			ss.closed = d.Microseconds()
		default:
			return session{}, fmt.Errorf("market: -session %q: unknown key %q, want open and closed", s, k)
		}
	}
	if ss.open == 0 || ss.closed == 0 {
		return session{}, fmt.Errorf("market: -session %q: want both open=DURATION and closed=DURATION", s)
	}
	return ss, nil
}

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
