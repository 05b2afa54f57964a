package market

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLiveDriverStampsPublishTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src, err := Open(Config{Rate: 50, Seed: 1, Speed: 1})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		ctx, cancel := context.WithCancel(t.Context())
		var quotes, events int
		var lastTS float64
		sink := sinkFunc(func(name, symbol string, data any) error {
			events++
			if name == EventQuote {
				quotes++
			}
			ts := tsOf(data)
			now := float64(time.Now().UnixMicro()) / 1000
			// ts is the publish moment: not earlier than now by more than
			// a millisecond (in the bubble the clock stands still while
			// code runs, so it is exact here), never in the future.
			if ts < now-1 || ts > now {
				t.Errorf("%s ts %.3f, published at %.3f", name, ts, now)
			}
			if ts < lastTS {
				t.Errorf("ts went back: %.3f after %.3f", ts, lastTS)
			}
			lastTS = ts
			return nil
		})
		done := make(chan error, 1)
		go func() { done <- src.Run(ctx, sink) }()
		time.Sleep(20 * time.Second) // fake time: the bubble advances it
		cancel()
		synctest.Wait()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run after cancel: %v, want nil", err)
			}
		default:
			t.Fatal("Run did not return at once after cancel")
		}
		if d := time.Since(start); d != 20*time.Second {
			t.Errorf("Run returned %v after start, want at the cancel, 20s", d)
		}
		// 53 opening quotes, then about 50 a second.
		if got := float64(quotes - 53); math.Abs(got-20*50) > 0.35*20*50 {
			t.Errorf("%v quotes in 20 s at -rate 50, want about 1000", got)
		}
	})
}

func TestLiveDriverSpeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A CSV of 40 rows over about 36 s plays in about 9 s at speed 4.
		src, err := Open(Config{Source: "file:../testdata/small.csv", Speed: 4})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var n int
		err = src.Run(t.Context(), sinkFunc(func(string, string, any) error { n++; return nil }))
		if err != nil {
			t.Fatal(err)
		}
		d := time.Since(start)
		rows, _ := Open(Config{Source: "file:../testdata/small.csv"})
		p := rows.(*Player)
		span := time.Duration(p.rows[len(p.rows)-1].at-p.rows[0].at) * time.Microsecond
		if want := span / 4; d < want-time.Millisecond || d > want+time.Millisecond {
			t.Errorf("played in %v, want %v (the file's %v at speed 4)", d, want, span)
		}
	})
}

func TestSinkErrorStopsRun(t *testing.T) {
	src, err := Open(Config{Rate: 50, Seed: 1, Speed: 0, Now: func() time.Time { return time.UnixMicro(t0) }})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	n := 0
	err = src.Run(context.Background(), sinkFunc(func(string, string, any) error {
		if n++; n == 10 {
			return boom
		}
		return nil
	}))
	if !errors.Is(err, boom) || n != 10 {
		t.Fatalf("Run = %v after %d events, want boom after 10", err, n)
	}
}

func tsOf(data any) float64 {
	switch d := data.(type) {
	case *Quote:
		return d.TS
	case *Score:
		return d.TS
	case *Market:
		return d.TS
	case *Status:
		return d.TS
	}
	return math.NaN()
}

// Each bad field is an error that names it, in the market's terms (a
// program names its own flags), and is a *ConfigError with that Field.
func TestOpenRejectsBadConfig(t *testing.T) {
	for _, c := range []struct {
		cfg   Config
		field string
		want  string
	}{
		{Config{Rate: 0}, "Rate", "rate 0"},
		{Config{Rate: math.NaN()}, "Rate", "rate NaN"},
		{Config{Rate: 1, Speed: -1}, "Speed", "speed -1"},
		{Config{Rate: 1, HaltPct: math.Inf(1)}, "HaltPct", "halt percent +Inf"},
		{Config{Rate: 1, Symbols: "0"}, "Symbols", `symbols "0"`},
		{Config{Rate: 1, Symbols: "AAPL,AAPL"}, "Symbols", `"AAPL" is listed twice`},
		{Config{Rate: 1, Symbols: "AAPL,B@D"}, "Symbols", `"B@D"`},
		{Config{Rate: 1, Session: "open=2m"}, "Session", "closed=DURATION"},
		{Config{Rate: 1, Session: "open=2m,closed=banana"}, "Session", `"closed=banana"`},
		{Config{Rate: 1, Session: "open=2m,shut=1m"}, "Session", `unknown key "shut"`},
		{Config{Rate: 1, Source: "kafka:x"}, "Source", `source "kafka:x"`},
		{Config{Source: "file:"}, "Source", "with a path"},
		{Config{Source: "file:/nonexistent/x.csv"}, "Source", "no such file"},
		{Config{Source: "file:../testdata/small.csv", Symbols: "3"}, "Symbols", "not a count"},
		{Config{Source: "file:../testdata/small.csv", Symbols: "TSLA"}, "Symbols", "TSLA is not in the file"},
		{Config{Source: "file:../testdata/small.jsonl", Symbols: "AAPL"}, "Symbols", "plays all its symbols"},
		{Config{Source: "file:../testdata/small.jsonl", Session: "open=2m,closed=1m"}, "Session", "plays its own times"},
	} {
		_, err := Open(c.cfg)
		if err == nil || !contains(err.Error(), c.want) {
			t.Errorf("Open(%+v) = %v, want an error naming %s", c.cfg, err, c.want)
		}
		if ce, ok := errors.AsType[*ConfigError](err); !ok || ce.Field != c.field {
			t.Errorf("Open(%+v) = %#v, want a *ConfigError for %s", c.cfg, err, c.field)
		}
		for _, flag := range []string{"-source", "-symbols", "-rate", "-speed", "-session", "-halt-pct"} {
			if err != nil && contains(err.Error(), flag) {
				t.Errorf("Open(%+v) = %v: names the flag %s, not the field", c.cfg, err, flag)
			}
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestSymbolsSpec(t *testing.T) {
	for _, c := range []struct {
		spec  string
		n     int
		first string
		last  string
	}{
		{"", len(universeTable), "AAPL", "FCX"},
		{"3", 3, "AAPL", "NVDA"},
		{"100", 100, "AAPL", ""},
		{"tsla, zzzq", 2, "TSLA", "ZZZQ"},
	} {
		ls, err := parseSymbols(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		seen := map[string]bool{}
		for _, l := range ls {
			sum += l.Weight
			if seen[l.Symbol.Symbol] || l.Sector == "" || l.Name == "" || l.Beta <= 0 {
				t.Errorf("%q: bad or repeated listing %+v", c.spec, l)
			}
			seen[l.Symbol.Symbol] = true
		}
		if len(ls) != c.n || ls[0].Symbol.Symbol != c.first || (c.last != "" && ls[len(ls)-1].Symbol.Symbol != c.last) || math.Abs(sum-1) > 1e-9 {
			t.Errorf("%q: %d symbols from %s to %s, weights sum %v", c.spec, len(ls), ls[0].Symbol.Symbol, ls[len(ls)-1].Symbol.Symbol, sum)
		}
	}
	// Generated metadata depends on the name alone.
	if a, b := generated("ZZZQ"), generated("ZZZQ"); a != b {
		t.Error("generated metadata differs for the same name")
	}
}

func TestDearNamesKeepTheirMetadata(t *testing.T) {
	ls, err := parseSymbols("BRK.A,NVR,AAPL")
	if err != nil {
		t.Fatal(err)
	}
	if ls[0].Name != "Berkshire Hathaway Inc. Class A" || ls[0].price < 100000 || ls[1].Sector != "Consumer Discretionary" || ls[1].price < 1000 {
		t.Errorf("dear names: %+v %+v", ls[0], ls[1])
	}
	// They are not in the default universe.
	def, _ := parseSymbols("")
	for _, l := range def {
		if _, dear := knownDear(l.Symbol.Symbol); dear {
			t.Errorf("%s is in the default universe", l.Symbol.Symbol)
		}
	}
}
