package feed

import (
	"io"
	"log/slog"
)

// The fixtures of the package's tests. They are exported for the tests
// of package feed_test (feed_test.go), which read streams with
// tickertape/internal/sse and so cannot be in package feed: it imports
// feed.

var TestSymbols = []string{"AAPL", "MSFT", "GOOG"}

type TestQuote struct {
	Symbol string  `json:"symbol"`
	Price  float64 `json:"price"`
	Pad    string  `json:"pad,omitempty"`
}

type TestMarket struct {
	Index float64 `json:"index"`
}

func DiscardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// MaxUnconflated is maxUnconflated, for package feed_test.
const MaxUnconflated = maxUnconflated
