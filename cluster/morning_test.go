package cluster

import (
	"context"
	"fmt"
	"testing"

	"tickertape/history"
	"tickertape/internal/sse"
	"tickertape/market"
)

// nopSink takes the events after the morning, and counts them.
type nopSink struct{ n int }

func (s *nopSink) Publish(string, string, any) error { s.n++; return nil }

// A morning too big for one message goes in chunks, and a node that takes
// it in (twice over: it starts, then a leader publishes the same morning
// again) holds the bars of every trade once, as if it had folded them
// itself. A symbol with no morning gets no message and no bars; one that
// comes later is taken in as it comes.
func TestMorningInChunks(t *testing.T) {
	url := sse.StartNATS(t, t.TempDir(), 0).ClientURL()
	c, err := Connect(url, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	stream, err := c.morningStream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	symbols := []market.Symbol{{Symbol: "A"}, {Symbol: "B"}}
	names := []string{"A", "B"}
	direct := history.New(names, history.Options{})
	publish := func(b bool) {
		next := &nopSink{}
		m := c.newMorningSink(t.Context(), next, stream, symbols)
		for k := range 2*morningChunk + 7 { // three chunks
			q := &market.Quote{Symbol: "A", TS: 1_700_000_000_000 + float64(k)*97.5, Price: 100 + float64(k%13)/8, Size: int64(1 + k%5)}
			m.Backfill(market.EventQuote, "A", q)
			m.Backfill(market.EventStatus, "A", &market.Status{Symbol: "A"}) // not a trade
		}
		if b {
			m.Backfill(market.EventQuote, "B", &market.Quote{Symbol: "B", TS: 1_700_000_000_000, Price: 7, Size: 1})
		}
		if err := m.Publish(market.EventMarket, "", &market.Market{}); err != nil || next.n != 1 {
			t.Fatalf("the first event after the morning: %v, %d passed on", err, next.n)
		}
	}
	publish(false)
	info, err := stream.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 {
		t.Errorf("the morning stream holds %d messages, want A's 3 chunks", info.State.Msgs)
	}
	for k := range 2*morningChunk + 7 {
		direct.Add("A", 1_700_000_000_000+float64(k)*97.5, 100+float64(k%13)/8, int64(1+k%5))
	}

	taken := history.New(names, history.Options{})
	cs := &Consumer{c: c, symbols: symbols}
	ctx, cancel := context.WithCancel(t.Context())
	done := cs.followMorning(ctx, taken)
	waitFor(t, "A's morning", func() bool {
		p, _ := taken.Query("A", "1m", 10)
		return len(p.Bars) > 0
	})
	if p, _ := taken.Query("B", "1m", 10); len(p.Bars) != 0 {
		t.Errorf("B traded no morning, and has bars: %v", p.Bars)
	}
	// The same morning again, as from a leader that starts a fresh market
	// after this node did, and now one of B too, published after A's: once
	// B's is in, so is A's second.
	publish(true)
	waitFor(t, "B's morning", func() bool {
		p, _ := taken.Query("B", "1m", 10)
		return len(p.Bars) == 1
	})
	cancel()
	<-done
	for _, iv := range history.Intervals {
		want, _ := direct.Query("A", iv.Name, history.MaxLimit)
		got, _ := taken.Query("A", iv.Name, history.MaxLimit)
		if len(want.Bars) == 0 || fmt.Sprint(got.Bars) != fmt.Sprint(want.Bars) {
			t.Errorf("A's %s bars: %d taken from the broker, %d folded here", iv.Name, len(got.Bars), len(want.Bars))
		}
	}
}
