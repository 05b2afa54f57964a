package market

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

var errStop = errors.New("stop here")

// stateSink keeps what a snapshot shows of the events it is given, as a
// node that takes the market over finds it.
type stateSink struct {
	st      State
	quotes  map[string]Quote
	scores  map[string]Score
	status  map[string]Status
	session *Status
	market  *Market
	stop    func(name, symbol string, data any) bool
}

func (s *stateSink) Publish(name, symbol string, data any) error {
	s.st.Published++
	switch d := data.(type) {
	case *Quote:
		s.quotes[symbol] = *d
	case *Score:
		s.scores[symbol] = *d
	case *Status:
		if symbol == "" {
			c := *d
			s.session = &c
		} else {
			s.status[symbol] = *d
		}
	case *Market:
		c := *d
		c.Sectors = slices.Clone(d.Sectors)
		s.market = &c
	}
	if s.stop(name, symbol, data) {
		return errStop
	}
	return nil
}

// state runs the market of cfg until stop says so and returns the state
// it left.
func state(t *testing.T, cfg Config, stop func(name, symbol string, data any) bool) *State {
	t.Helper()
	src, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &stateSink{quotes: map[string]Quote{}, scores: map[string]Score{}, status: map[string]Status{}, stop: stop}
	if err := src.Run(t.Context(), s); !errors.Is(err, errStop) {
		t.Fatalf("the market ended before the state the test wants: %v", err)
	}
	for _, sym := range src.Symbols() {
		s.st.Quotes = append(s.st.Quotes, s.quotes[sym.Symbol])
		s.st.Scores = append(s.st.Scores, s.scores[sym.Symbol])
		if st, ok := s.status[sym.Symbol]; ok {
			s.st.Statuses = append(s.st.Statuses, st)
		}
	}
	s.st.Session, s.st.Market = s.session, s.market
	return &s.st
}

type event struct {
	name, symbol string
	data         any
}

// resumed continues the market of cfg from st for n events.
func resumed(t *testing.T, cfg Config, st *State, n int) []event {
	t.Helper()
	src, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []event
	err = src.(Resumer).Resume(t.Context(), sinkFunc(func(name, symbol string, data any) error {
		switch d := data.(type) { // the sink may not keep data: copy it
		case *Quote:
			c := *d
			data = &c
		case *Score:
			c := *d
			data = &c
		case *Status:
			c := *d
			data = &c
		case *Market:
			c := *d
			data = &c
		}
		out = append(out, event{name, symbol, data})
		if len(out) == n {
			return errStop
		}
		return nil
	}), st)
	if !errors.Is(err, errStop) {
		t.Fatalf("the resumed market ended after %d events: %v", len(out), err)
	}
	return out
}

// A market taken over goes on where the state left it: the same day's
// prices and volumes, halts that last as long as they had left, the
// same index, and no opening picture.
func TestSimResumeContinuesTheMarket(t *testing.T) {
	t.Parallel()
	cfg := Config{Symbols: "AAPL,MSFT,XOM,NVDA,JPM", Rate: 40, Seed: 7, Speed: 0, HaltPct: 1.5,
		Session: "open=10m,closed=30s", Now: func() time.Time { return time.UnixMicro(t0) }}
	// Stop a while after a halt, so that it has time left.
	var halted string
	var haltTS, quotesAfter float64
	st := state(t, cfg, func(name, symbol string, data any) bool {
		if s, ok := data.(*Status); ok && symbol != "" && s.State == "halted" && halted == "" {
			halted, haltTS = symbol, s.TS
		}
		if halted != "" && name == EventQuote {
			quotesAfter++
		}
		return quotesAfter == 200
	})
	if st.Session == nil || st.Session.State != "open" {
		t.Fatalf("the state's session: %+v, want open", st.Session)
	}
	evs := resumed(t, cfg, st, 8000)
	newest := float64(st.newest()) / 1000

	n := len(st.Quotes)
	intro := map[string]bool{}
	for _, e := range evs[:2*n+1] {
		intro[e.name+e.symbol] = true
	}
	if len(intro) == 2*n+1 {
		t.Error("the resumed market starts with an opening picture")
	}
	before := map[string]Quote{}
	for _, q := range st.Quotes {
		before[q.Symbol] = q
	}
	scoreBefore := map[string]Score{}
	for _, sc := range st.Scores {
		scoreBefore[sc.Symbol] = sc
	}
	seen, scored := map[string]bool{}, map[string]bool{}
	var resumedAt float64
	marketSeen := false
	for _, e := range evs {
		if ts := tsOf(e.data); ts <= newest {
			t.Fatalf("%s %s at ts %.3f, not after the state's newest %.3f", e.name, e.symbol, ts, newest)
		}
		switch d := e.data.(type) {
		case *Status:
			if e.symbol == halted && d.State == "trading" && resumedAt == 0 {
				resumedAt = d.TS
			}
		case *Quote:
			if e.symbol == halted && resumedAt == 0 {
				t.Fatalf("a quote of %s, halted in the state, before its halt was lifted", halted)
			}
			if seen[e.symbol] {
				continue
			}
			seen[e.symbol] = true
			b := before[e.symbol]
			if d.PrevClose != b.PrevClose || d.Open != b.Open || d.Volume != b.Volume+d.Size ||
				d.High < b.High || d.Low > b.Low || math.Abs(d.Price/b.Price-1) > 0.03 {
				t.Errorf("%s: first quote after the takeover %+v does not continue %+v", e.symbol, *d, b)
			}
		case *Score:
			if scored[e.symbol] {
				continue
			}
			scored[e.symbol] = true
			// The score's averages go on: the next score is near the last.
			b := scoreBefore[e.symbol]
			if math.Abs(d.Score-b.Score) > 20 || math.Abs(d.RSI-b.RSI) > 20 ||
				d.Volatility < 0.7*b.Volatility || d.Volatility > 1.4*b.Volatility {
				t.Errorf("%s: first score after the takeover %+v does not continue %+v", e.symbol, *d, b)
			}
		case *Market:
			if !marketSeen {
				marketSeen = true
				if math.Abs(d.Index/st.Market.Index-1) > 0.01 {
					t.Errorf("first index after the takeover %.2f, the state's %.2f", d.Index, st.Market.Index)
				}
			}
		}
	}
	if len(seen) != n {
		t.Errorf("quotes of %d symbols after the takeover, want %d", len(seen), n)
	}
	// The halt lasts as long as it had left: haltFor after it began.
	if got := (resumedAt - haltTS) * 1000; math.Abs(got-float64(haltFor)) > float64(second) {
		t.Errorf("%s halted at %.3f, lifted at %.3f: %.1f s, want %d s", halted, haltTS, resumedAt, got/1e6, haltFor/second)
	}
}

// A market taken over while its session is closed stays closed for what
// was left of the close, then opens a new day.
func TestSimResumeKeepsTheSession(t *testing.T) {
	t.Parallel()
	cfg := Config{Symbols: "AAPL,MSFT,XOM", Rate: 20, Seed: 3, Speed: 0,
		Session: "open=1m,closed=30s", Now: func() time.Time { return time.UnixMicro(t0) }}
	var closedTS float64
	st := state(t, cfg, func(name, symbol string, data any) bool {
		if s, ok := data.(*Status); ok && symbol == "" && s.State == "closed" {
			closedTS = s.TS
		}
		return closedTS != 0 && name == EventMarket
	})
	var openedTS float64
	for _, e := range resumed(t, cfg, st, 500) {
		switch d := e.data.(type) {
		case *Status:
			if e.symbol == "" && d.State == "open" && openedTS == 0 {
				openedTS = d.TS
			}
		case *Quote, *Score:
			if openedTS == 0 {
				t.Fatalf("%s %s while the session the state left is closed", e.name, e.symbol)
			}
		}
	}
	if got := (openedTS - closedTS) / 1000; math.Abs(got-30) > 0.01 {
		t.Errorf("the session closed at %.3f and opened at %.3f: %.3f s, want 30 s", closedTS, openedTS, got)
	}
}

// A file taken over goes on with the event after the last one published,
// the very events a player that never stopped would have sent.
func TestPlayerResumeContinuesTheFile(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"../testdata/small.csv", "../testdata/small.jsonl"} {
		cfg := Config{Source: "file:" + file}
		all := bytes.SplitAfter(play(t, cfg), []byte("\n"))
		all = all[:len(all)-1] // the empty piece after the last line
		for _, k := range []int{0, 1, 7, len(all) / 2, len(all) - 1, len(all), len(all) + 3} {
			src, err := Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := src.(Resumer).Resume(context.Background(), Record(&buf, nil), &State{Published: uint64(k)}); err != nil {
				t.Fatal(err)
			}
			want := bytes.Join(all[min(k, len(all)):], nil)
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s resumed at event %d of %d:\n%s\nwant\n%s", file, k, len(all), head(buf.Bytes()), head(want))
			}
		}
	}
}
