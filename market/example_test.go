package market_test

import (
	"context"
	"fmt"
	"time"

	"tickertape/market"
)

// A seeded simulation at Speed 0 runs as fast as the sink takes events and
// stamps them with the simulated clock, which starts at Now: the same
// events every time.
func ExampleOpen() {
	src, err := market.Open(market.Config{
		Symbols: "AAPL,MSFT",
		Rate:    4,
		Seed:    1,
		Speed:   0,
		Now:     func() time.Time { return time.Date(2024, 3, 1, 14, 30, 0, 0, time.UTC) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	src.Run(ctx, sink(func(name, symbol string, data any) error {
		switch d := data.(type) {
		case *market.Quote:
			fmt.Printf("%.3f quote  %s %.2f (%.2f/%.2f) x%d\n", d.TS, symbol, d.Price, d.Bid, d.Ask, d.Size)
		case *market.Score:
			fmt.Printf("%.3f score  %s %+.1f (momentum %.3f%%, rsi %.1f)\n", d.TS, symbol, d.Score, d.Momentum, d.RSI)
		case *market.Market:
			fmt.Printf("%.3f market %.2f %+.3f%% (%d up, %d down)\n", d.TS, d.Index, d.ChangePct, d.Advancers, d.Decliners)
		}
		if n++; n == 8 {
			cancel()
		}
		return nil
	}))
	// Output:
	// 1709303400000.000 quote  AAPL 221.68 (221.67/221.71) x19
	// 1709303400000.000 quote  MSFT 501.86 (501.81/501.89) x85
	// 1709303400000.000 score  AAPL -13.1 (momentum -0.005%, rsi 28.1)
	// 1709303400000.000 score  MSFT +3.2 (momentum 0.052%, rsi 44.9)
	// 1709303400000.000 market 4006.47 +0.162% (1 up, 1 down)
	// 1709303400626.857 quote  AAPL 221.69 (221.67/221.70) x72
	// 1709303401000.000 market 4006.57 +0.164% (1 up, 1 down)
	// 1709303401442.794 quote  AAPL 221.69 (221.67/221.71) x29
}

type sink func(name, symbol string, data any) error

func (f sink) Publish(name, symbol string, data any) error { return f(name, symbol, data) }
