package market

import (
	"testing"
)

// BenchmarkDay runs one simulated 6.5-hour trading day per op: 50 symbols,
// 50 quotes a second on average (about 1.2 million quotes, plus scores every
// 5 s per symbol and a market event a second).
func BenchmarkDay(b *testing.B) {
	ls, err := parseSymbols("50")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var events int
	for b.Loop() {
		m := newSim(ls, 1, 50, DefaultHaltPct/100, session{}, t0)
		for {
			at, _, _, _, _ := m.next()
			if at > t0+tradingDay {
				break
			}
			events++
		}
	}
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEngine measures the model's cost per event at a high rate
// (20000 quotes a second over the default universe), the way the bench
// subcommand drives it.
func BenchmarkEngine(b *testing.B) {
	m := newTestSim(b, "", 1, 20000)
	b.ReportAllocs()
	for b.Loop() {
		m.next()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
