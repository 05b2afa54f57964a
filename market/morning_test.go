package market

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"testing"
	"time"
)

// backfillSink records the morning (Backfill) and the live events (Publish)
// of a run, and stops the run after live events.
type backfillSink struct {
	morning, live []recorded
	stopAfter     int
	cancel        context.CancelFunc
	encode        bool // keep each event's JSON
}

type recorded struct {
	name, symbol string
	q            Quote // for quotes
	raw          []byte
}

func (b *backfillSink) keep(list *[]recorded, name, symbol string, data any) {
	r := recorded{name: name, symbol: symbol}
	if q, ok := data.(*Quote); ok {
		r.q = *q
	}
	if b.encode {
		// Enough of each event to tell two markets apart, cheaper than JSON.
		switch d := data.(type) {
		case *Quote:
			r.raw = fmt.Appendf(nil, "%v %v %v %v %v %d", d.TS, d.Price, d.Bid, d.Ask, d.High, d.Size)
		case *Score:
			r.raw = fmt.Appendf(nil, "%v %v", d.TS, d.Score)
		case *Market:
			r.raw = fmt.Appendf(nil, "%v %v %d", d.TS, d.Index, d.Advancers)
		case *Status:
			r.raw = fmt.Appendf(nil, "%v %s %s", d.TS, d.State, d.Reason)
		}
	}
	*list = append(*list, r)
}

func (b *backfillSink) Backfill(name, symbol string, data any) {
	if len(b.live) > 0 {
		panic("a backfill after a publish")
	}
	b.keep(&b.morning, name, symbol, data)
}

func (b *backfillSink) Publish(name, symbol string, data any) error {
	b.keep(&b.live, name, symbol, data)
	if len(b.live) == b.stopAfter {
		b.cancel()
	}
	return nil
}

// runMorning runs a simulation that goes live at t0 for n live events.
func runMorning(t *testing.T, cfg Config, n int, encode bool) *backfillSink {
	t.Helper()
	cfg.Now = func() time.Time { return time.UnixMicro(t0) }
	src, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &backfillSink{stopAfter: n, cancel: cancel, encode: encode}
	if err := src.Run(ctx, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTheMorningIsTradedBeforeGoingLive(t *testing.T) {
	b := runMorning(t, Config{Rate: 25, Seed: 1}, 200, false)
	open := t0 - tradingDay/4
	type day struct {
		open, high, low float64
		volume          int64
		minutes         map[int64]bool
	}
	days := map[string]*day{}
	for _, r := range b.morning {
		if r.name != EventQuote {
			continue
		}
		at := int64(r.q.TS * 1000)
		if at < open || at >= t0 {
			t.Fatalf("a morning trade at %d, outside the morning %d…%d", at, open, t0)
		}
		d := days[r.symbol]
		if d == nil {
			d = &day{open: r.q.Price, high: r.q.Price, low: r.q.Price, minutes: map[int64]bool{}}
			days[r.symbol] = d
		}
		d.high = math.Max(d.high, r.q.Price)
		d.low = math.Min(d.low, r.q.Price)
		d.volume += r.q.Size
		d.minutes[at/minute] = true
	}
	if len(days) != len(universeTable) {
		t.Fatalf("%d symbols traded in the morning, want all %d", len(days), len(universeTable))
	}
	if m := len(days["AAPL"].minutes); m < 90 {
		t.Errorf("AAPL traded in %d minutes of the morning, want more than 90 (1m bars for a chart)", m)
	}
	// The opening picture carries the day so far: open, high, low and volume
	// agree with the morning's trades and its own.
	// A symbol halted since the morning keeps its last quote, and a halted
	// status follows the opening summary.
	halted := map[string]bool{}
	for _, r := range b.live[2*len(universeTable)+1:] {
		if r.name != EventStatus {
			break
		}
		halted[r.symbol] = true
	}
	for _, r := range b.live[:len(universeTable)] {
		d := days[r.symbol]
		q := r.q
		if r.name != EventQuote || (q.TS != TS(t0) && !halted[r.symbol]) {
			t.Fatalf("live event %s %s at %v, want the opening quotes at %v", r.name, r.symbol, q.TS, TS(t0))
		}
		if halted[r.symbol] {
			if q.Open != d.open || q.High != d.high || q.Low != d.low || q.Volume != d.volume {
				t.Errorf("%s, halted, opens live with open %v high %v low %v volume %d; the morning says %v %v %v %d", r.symbol, q.Open, q.High, q.Low, q.Volume, d.open, d.high, d.low, d.volume)
			}
			continue
		}
		if q.Open != d.open || q.High != math.Max(d.high, q.Price) || q.Low != math.Min(d.low, q.Price) || q.Volume != d.volume+q.Size {
			t.Errorf("%s opens live with open %v high %v low %v volume %d; the morning says %v %v %v %d (+ this trade %v x%d)",
				r.symbol, q.Open, q.High, q.Low, q.Volume, d.open, d.high, d.low, d.volume, q.Price, q.Size)
		}
	}
}

func TestTheMorningIsDeterministic(t *testing.T) {
	enc := func(b *backfillSink) []byte {
		var out bytes.Buffer
		for _, list := range [][]recorded{b.morning, b.live} {
			for _, r := range list {
				out.WriteString(r.name + " " + r.symbol + " ")
				out.Write(r.raw)
				out.WriteByte('\n')
			}
			out.WriteString("--- live\n")
		}
		return out.Bytes()
	}
	a := enc(runMorning(t, Config{Rate: 40, Seed: 9}, 3000, true))
	if b := enc(runMorning(t, Config{Rate: 40, Seed: 9}, 3000, true)); !bytes.Equal(a, b) {
		t.Fatal("same seed, different mornings or live events")
	}
	if c := enc(runMorning(t, Config{Rate: 40, Seed: 10}, 3000, true)); bytes.Equal(a, c) {
		t.Fatal("different seeds, same market")
	}
}

func TestAFastMarketsMorningIsThinnedNotLighter(t *testing.T) {
	count := func(rate float64) (quotes int, volume int64) {
		b := runMorning(t, Config{Rate: rate, Seed: 5, Symbols: "10"}, 1, false)
		for _, r := range b.morning {
			if r.name == EventQuote {
				quotes++
				volume += r.q.Size
			}
		}
		return
	}
	slowQ, slowV := count(morningRate)
	fastQ, fastV := count(80 * morningRate)
	// The two mornings differ in their random paths (storms, news), hence the slack.
	if float64(fastQ) > 2*float64(slowQ) {
		t.Errorf("%d morning quotes at 80× the rate, %d at the bound: the morning's cost should not grow with -rate", fastQ, slowQ)
	}
	if r := float64(fastV) / float64(slowV); r < 40 || r > 160 {
		t.Errorf("morning volume %d at 80× the rate, %d at the bound: ratio %.1f, want about 80", fastV, slowV, r)
	}
}

func TestASessionHasNoMorning(t *testing.T) {
	b := runMorning(t, Config{Rate: 25, Seed: 1, Session: "open=2m,closed=30s"}, 10, false)
	if len(b.morning) != 0 {
		t.Errorf("%d morning events in a session cycle, whose day opens when it starts", len(b.morning))
	}
}
