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
	// 1709303400000.000 quote  AAPL 218.24 (218.22/218.26) x59
	// 1709303400000.000 quote  MSFT 496.23 (496.19/496.28) x12
	// 1709303400000.000 score  AAPL +1.3 (momentum -0.023%, rsi 53.7)
	// 1709303400000.000 score  MSFT -30.0 (momentum -0.194%, rsi 33.8)
	// 1709303400000.000 market 3952.54 -1.187% (0 up, 2 down)
	// 1709303400502.246 quote  MSFT 496.23 (496.20/496.29) x200
	// 1709303400800.999 quote  MSFT 496.27 (496.22/496.31) x15
	// 1709303400981.118 quote  AAPL 218.22 (218.21/218.25) x200
}

type sink func(name, symbol string, data any) error

func (f sink) Publish(name, symbol string, data any) error { return f(name, symbol, data) }
