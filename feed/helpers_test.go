package feed

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
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

// NewTestHub makes a log of TestSymbols that keeps size events, and a hub
// of it whose metrics are in a registry of its own (reg), logging nowhere
// unless opts has a logger.
func NewTestHub(t *testing.T, size int, opts Options) (l *Log, h *Hub, reg *prometheus.Registry) {
	t.Helper()
	l, err := NewLog(TestSymbols, size, 1000)
	if err != nil {
		t.Fatal(err)
	}
	reg = prometheus.NewRegistry()
	opts.Metrics = NewMetrics(reg)
	if opts.Logger == nil {
		opts.Logger = DiscardLogger()
	}
	return l, NewHub(l, opts), reg
}

// PublishTestEvents publishes n events to l: quotes, round robin over
// the symbols, and a market event after every third.
func PublishTestEvents(t *testing.T, l *Log, n int) {
	t.Helper()
	for i := range n {
		var err error
		if i%4 == 3 {
			err = l.Publish("market", "", TestMarket{Index: float64(i)})
		} else {
			s := TestSymbols[i%len(TestSymbols)]
			err = l.Publish("quote", s, TestQuote{Symbol: s, Price: float64(100 + i)})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Scrape gathers reg as lines of name{labels} value, for the tests.
func Scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			b.WriteString(mf.GetName() + "{")
			for i, l := range m.Label {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, "%s=%q", l.GetName(), l.GetValue())
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			fmt.Fprintf(&b, "} %g\n", v)
		}
	}
	return b.String()
}

func DiscardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// MaxUnconflated is maxUnconflated, for package feed_test.
const MaxUnconflated = maxUnconflated
