package market

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// t0 is an arbitrary start for simulated runs: 2023-11-14T22:13:20Z.
const t0 = int64(1_700_000_000_000_000)

// newTestSim makes a model of the default universe (or spec) at rate.
func newTestSim(t testing.TB, spec string, seed int64, rate float64) *sim {
	t.Helper()
	ls, err := parseSymbols(spec)
	if err != nil {
		t.Fatal(err)
	}
	return newSim(ls, seed, rate, DefaultHaltPct/100, session{}, t0)
}

// runFor steps m until its clock passes d µs after t0, calling f for each event.
func runFor(m *sim, d int64, f func(at int64, name, symbol string, data any)) {
	for {
		at, name, symbol, data, ok := m.next()
		if !ok || at > t0+d {
			return
		}
		f(at, name, symbol, data)
	}
}

func TestIntroIsACompletePicture(t *testing.T) {
	m := newTestSim(t, "", 1, 25)
	n := len(m.syms)
	var names []string
	quotes, scores := map[string]bool{}, map[string]bool{}
	for i := 0; i < 2*n+1; i++ {
		_, name, symbol, _, _ := m.next()
		names = append(names, name)
		switch name {
		case EventQuote:
			quotes[symbol] = true
		case EventScore:
			if len(quotes) != n {
				t.Fatalf("event %d: a score before every symbol had a quote", i)
			}
			scores[symbol] = true
		}
	}
	if len(quotes) != n || len(scores) != n || names[2*n] != EventMarket {
		t.Fatalf("opening: %d quotes, %d scores, last %q; want %d, %d, market", len(quotes), len(scores), names[2*n], n, n)
	}
}

func TestSimInvariants(t *testing.T) {
	m := newTestSim(t, "", 7, 100)
	var quotes, inside, halts int
	runFor(m, 4*3600*second, func(at int64, name, symbol string, data any) {
		switch d := data.(type) {
		case *Quote:
			quotes++
			for _, x := range []float64{d.Price, d.Bid, d.Ask, d.Open, d.High, d.Low, d.PrevClose, d.ChangePct} {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					t.Fatalf("%s: NaN or Inf in %+v", symbol, d)
				}
			}
			if d.Price <= 0 || d.Bid <= 0 || !(d.Bid < d.Ask) {
				t.Fatalf("%s: price %v bid %v ask %v: want positive and bid < ask", symbol, d.Price, d.Bid, d.Ask)
			}
			if d.Bid < d.Price && d.Price < d.Ask {
				inside++
			}
			if d.Low > d.Price || d.High < d.Price || d.Size <= 0 || d.Volume < d.Size {
				t.Fatalf("%s: inconsistent day %+v", symbol, d)
			}
			if math.Abs(d.Price*100-math.Round(d.Price*100)) > 1e-6 {
				t.Fatalf("%s: price %v is not on a cent tick", symbol, d.Price)
			}
		case *Score:
			if !(d.Score >= -100 && d.Score <= 100) {
				t.Fatalf("%s: score %v outside -100…100", symbol, d.Score)
			}
		case *Status:
			if d.State == "halted" {
				halts++
			}
		}
	})
	if float64(inside) < 0.99*float64(quotes) {
		t.Errorf("bid < price < ask in %d of %d quotes; want nearly all", inside, quotes)
	}
	// A user watching the default universe should see a halt now and then:
	// over 4 hours, some, but not one a minute.
	if halts < 5 || halts > 120 {
		t.Errorf("%d halts in 4 hours; want an occasional one", halts)
	}
	t.Logf("%d quotes, %d halts in 4 simulated hours", quotes, halts)
}

// encodeRun returns the JSON of the first n events of a seeded model.
func encodeRun(t *testing.T, seed int64, n int) []byte {
	m := newTestSim(t, "", seed, 50)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for range n {
		at, name, symbol, data, _ := m.next()
		if err := enc.Encode([]any{at, name, symbol, data}); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestDeterminism(t *testing.T) {
	a, b := encodeRun(t, 42, 50000), encodeRun(t, 42, 50000)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different events")
	}
	if c := encodeRun(t, 43, 50000); bytes.Equal(a, c) {
		t.Fatal("different seeds, same events")
	}
}
