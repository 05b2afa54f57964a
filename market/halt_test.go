package market

import (
	"math"
	"testing"
)

// symIndex returns the model's index of symbol s.
func symIndex(t *testing.T, m *sim, s string) int {
	t.Helper()
	for i := range m.books {
		if m.books[i].q.Symbol == s {
			return i
		}
	}
	t.Fatalf("no symbol %s", s)
	return -1
}

func TestForcedJumpHaltsThenResumes(t *testing.T) {
	m := newTestSim(t, "", 3, 25)
	i := symIndex(t, m, "MSFT")
	var before float64
	runFor(m, 2*minute, func(at int64, name, symbol string, data any) {
		if q, ok := data.(*Quote); ok && symbol == "MSFT" {
			before = q.Price
		}
	})
	if m.books[i].halted {
		t.Fatal("MSFT halted before the test's jump; pick another seed")
	}
	m.jump(i, math.Log(1.10)) // the test hook: news moves MSFT +10 % now

	var haltAt, resumeAt int64
	var jumped float64
	var quotesWhileHalted, haltedInMarket int
	prevName := ""
	runFor(m, 10*minute, func(at int64, name, symbol string, data any) {
		defer func() { prevName = name }()
		switch d := data.(type) {
		case *Quote:
			if symbol != "MSFT" {
				return
			}
			switch {
			case haltAt == 0:
				jumped = d.Price
			case resumeAt == 0:
				quotesWhileHalted++
			}
		case *Status:
			if symbol != "MSFT" {
				return
			}
			switch d.State {
			case "halted":
				if haltAt == 0 {
					haltAt = at
					if prevName != EventQuote || jumped == 0 {
						t.Errorf("the halt does not follow the quote that moved")
					}
					if d.Reason == "" {
						t.Error("a halt without a reason")
					}
				}
			case "trading":
				if resumeAt == 0 {
					resumeAt = at
				}
			}
		case *Market:
			if haltAt != 0 && resumeAt == 0 && d.Halted > 0 {
				haltedInMarket++
			}
		}
	})
	if haltAt == 0 {
		t.Fatalf("no halt after a +10%% jump (price %.2f → %.2f)", before, jumped)
	}
	if jumped < before*1.05 {
		t.Errorf("the quote before the halt is %.2f, from %.2f: want the jump visible", jumped, before)
	}
	if quotesWhileHalted != 0 {
		t.Errorf("%d MSFT quotes while halted, want none", quotesWhileHalted)
	}
	if resumeAt-haltAt != haltFor {
		t.Errorf("resumed %v s after the halt, want %v s", float64(resumeAt-haltAt)/1e6, haltFor/second)
	}
	if haltedInMarket == 0 {
		t.Error("no market event counted the halted symbol")
	}
}

func TestHaltsCanBeDisabled(t *testing.T) {
	ls, _ := parseSymbols("AAPL")
	m := newSim(ls, 1, 25, haltFraction(-1), session{}, t0)
	runFor(m, minute, func(int64, string, string, any) {})
	m.jump(0, math.Log(1.5))
	runFor(m, 5*minute, func(at int64, name, symbol string, data any) {
		if name == EventStatus {
			t.Fatalf("status %+v with halts disabled", data)
		}
	})
}

// scoresOf runs m for d and returns symbol i's score events after from.
func scoresOf(m *sim, i int, from, d int64) []Score {
	var out []Score
	sym := m.books[i].q.Symbol
	runFor(m, d, func(at int64, name, symbol string, data any) {
		if s, ok := data.(*Score); ok && symbol == sym && at >= t0+from {
			out = append(out, *s)
		}
	})
	return out
}

func TestRallyRaisesTheScore(t *testing.T) {
	const seed = 5
	base := newTestSim(t, "", seed, 25)
	rally := newTestSim(t, "", seed, 25)
	i := symIndex(t, rally, "JPM")
	// The test hook: +0.4 % a minute for the whole run, a steady rally that
	// stays under the 5 %-in-5-minutes halt. Drift draws no random numbers,
	// so both runs see the same noise and differ by the rally alone.
	rally.syms[i].drift = 0.004 / 60
	b := scoresOf(base, i, 8*minute, 15*minute)
	r := scoresOf(rally, i, 8*minute, 15*minute)
	if len(b) == 0 || len(b) != len(r) {
		t.Fatalf("%d and %d scores", len(b), len(r))
	}
	var higher int
	var mb, mr float64
	for k := range b {
		if r[k].Score > b[k].Score {
			higher++
		}
		if r[k].Score < -100 || r[k].Score > 100 {
			t.Fatalf("score %v outside -100…100", r[k].Score)
		}
		mb += b[k].Score / float64(len(b))
		mr += r[k].Score / float64(len(b))
	}
	t.Logf("JPM mean score %.1f without, %.1f with the rally; momentum %.3f vs %.3f at the end", mb, mr, b[len(b)-1].Momentum, r[len(r)-1].Momentum)
	if higher < len(b)*9/10 {
		t.Errorf("the rally scored higher %d times of %d, want nearly always", higher, len(b))
	}
	if mr < mb+20 || mr < 30 {
		t.Errorf("mean score %.1f with the rally, %.1f without: want a clear buy signal", mr, mb)
	}
	last := r[len(r)-1]
	if last.Momentum <= b[len(b)-1].Momentum || last.RSI <= 50 {
		t.Errorf("rally components %+v: want momentum above the base run's and RSI above 50", last)
	}
}

func TestScoreStaysInRange(t *testing.T) {
	var c scorer
	var sc Score
	// Wild input: doubling, crashing, zero volume, huge volume.
	p, v := 100.0, int64(0)
	for k := range 500 {
		switch k % 7 {
		case 0:
			p *= 2
		case 3:
			p /= 5
		case 5:
			v += 1e12
		}
		c.sample(p, v)
		c.fill(&sc)
		for _, x := range []float64{sc.Score, sc.Momentum, sc.RSI, sc.Volatility, sc.VolumeSurge} {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("sample %d: %+v has NaN or Inf", k, sc)
			}
		}
		if sc.Score < -100 || sc.Score > 100 || sc.RSI < 0 || sc.RSI > 100 {
			t.Fatalf("sample %d: %+v out of range", k, sc)
		}
	}
}

func TestSessionOpensAndCloses(t *testing.T) {
	ls, _ := parseSymbols("AAPL,MSFT,XOM")
	sess, err := parseSession("open=2m,closed=30s")
	if err != nil {
		t.Fatal(err)
	}
	m := newSim(ls, 1, 20, 0.05, sess, t0)
	var states []string
	var times []int64
	closed := false
	lastPrice := map[string]float64{}
	firstAfter := map[string]Quote{}
	runFor(m, 6*minute, func(at int64, name, symbol string, data any) {
		switch d := data.(type) {
		case *Status:
			if symbol == "" {
				states = append(states, d.State)
				times = append(times, (at-t0)/second)
				closed = d.State == "closed"
			}
		case *Quote:
			if closed {
				t.Fatalf("a quote while the session is closed: %+v", d)
			}
			switch len(states) {
			case 1: // the first day
				lastPrice[symbol] = d.Price
			case 3: // the second
				if _, ok := firstAfter[symbol]; !ok {
					firstAfter[symbol] = *d
				}
			}
		case *Score:
			if closed {
				t.Fatal("a score while the session is closed")
			}
		case *Market:
			if want := map[bool]string{true: "closed", false: "open"}[closed]; d.Session != want {
				t.Fatalf("market session %q, want %q", d.Session, want)
			}
		}
	})
	want := []string{"open", "closed", "open", "closed", "open"}
	wantT := []int64{0, 120, 150, 270, 300}
	if len(states) != len(want) {
		t.Fatalf("session states %v at %v s, want %v at %v s", states, times, want, wantT)
	}
	for k := range want {
		if states[k] != want[k] || times[k] != wantT[k] {
			t.Fatalf("session states %v at %v s, want %v at %v s", states, times, want, wantT)
		}
	}
	// Each opening is a new day: yesterday's last price is today's previous
	// close, and volume starts again.
	for s, q := range firstAfter {
		if q.PrevClose != lastPrice[s] || q.Volume != q.Size || q.Open != q.Price {
			t.Errorf("%s first quote of the new day %+v: want prevClose %.2f, volume = size, open = price", s, q, lastPrice[s])
		}
	}
	if len(firstAfter) == 0 {
		t.Error("no quotes after the session reopened")
	}
}
