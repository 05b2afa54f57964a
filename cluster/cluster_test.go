package cluster

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tickertape/feed"
	"tickertape/internal/sse"
	"tickertape/market"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// A publisher's log and a consumer's log end up with the same snapshot and
// the same ids, symbols that are no subject tokens (BRK.B) included.
func TestPublishThenConsume(t *testing.T) {
	url := sse.StartNATS(t, t.TempDir(), 0).ClientURL()
	symbols := []market.Symbol{{Symbol: "BRK.B"}, {Symbol: "AAPL"}}
	names := []string{"BRK.B", "AAPL"}

	pc, err := Connect(url, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pub, err := pc.Publisher(t.Context(), symbols, 100)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := feed.NewLog(names, 100, 0)
	sink := pub.Wrap(src, src.Newest)
	publish := func(name, sym string, data any) {
		t.Helper()
		if err := sink.Publish(name, sym, data); err != nil {
			t.Fatal(err)
		}
	}
	publish(market.EventStatus, "", &market.Status{State: "open"})
	publish(market.EventQuote, "BRK.B", &market.Quote{Symbol: "BRK.B", Price: 400})
	publish(market.EventQuote, "AAPL", &market.Quote{Symbol: "AAPL", Price: 200})
	publish(market.EventStatus, "BRK.B", &market.Status{Symbol: "BRK.B", State: "halted"})
	publish(market.EventMarket, "", &market.Market{Index: 1000})

	cc, err := Connect(url, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	cons, err := cc.Consumer(t.Context(), 2) // a buffer of 2: the rest comes from the state
	if err != nil {
		t.Fatal(err)
	}
	if got := cons.Symbols(); len(got) != 2 || got[0].Symbol != "BRK.B" {
		t.Fatalf("universe %+v", got)
	}
	dst, _ := feed.NewLog(names, 2, 0)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx, dst) }()
	select {
	case <-dst.Ready():
	case err := <-done:
		t.Fatalf("consumer ended before it was ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the consumer never caught up")
	}
	a, ida := src.Snapshot(nil)
	b, idb := dst.Snapshot(nil)
	if string(a) != string(b) || ida != idb {
		t.Fatalf("snapshots differ:\npublisher %d %s\nconsumer  %d %s", ida, a, idb, b)
	}

	// Live: the next event arrives with the publisher's id.
	publish(market.EventQuote, "AAPL", &market.Quote{Symbol: "AAPL", Price: 201})
	s := dst.Subscribe(feed.Filter{}, "", feed.SSE)
	for dst.Newest() != src.Newest() {
		_, wake, _ := s.Next(nil)
		<-wake
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}

	// The state stream tells which events stream sequence it holds: the
	// market event was the fifth event published.
	state, err := cc.js.Stream(t.Context(), StateStream)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := state.GetLastMsgForSubject(t.Context(), EventsPrefix+"market")
		if err == nil {
			if got := sourceSeq(m.Header); got != 5 {
				t.Fatalf("sourced sequence %d from %q, want 5", got, m.Header.Get("Nats-Stream-Source"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the state stream never took the market event: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // the server sources it in the background
	}
}

func TestConsumerWaitsForAPublisher(t *testing.T) {
	url := sse.StartNATS(t, t.TempDir(), 0).ClientURL()
	c, err := Connect(url, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Consumer(ctx, 10); err == nil || !strings.Contains(err.Error(), "no publisher") {
		t.Fatalf("no publisher: %v", err)
	}
}

// A node shuts down while the broker is away: Run ends, and nothing is
// left running (goleak).
func TestRunEndsWhileBrokerIsDown(t *testing.T) {
	ns := sse.StartNATS(t, t.TempDir(), 0)
	pc, err := Connect(ns.ClientURL(), quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pub, err := pc.Publisher(t.Context(), []market.Symbol{{Symbol: "A"}}, 10)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := feed.NewLog([]string{"A"}, 10, 0)
	if err := pub.Wrap(src, src.Newest).Publish(market.EventMarket, "", &market.Market{Index: 1}); err != nil {
		t.Fatal(err)
	}
	cc, err := Connect(ns.ClientURL(), quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	cons, err := cc.Consumer(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	dst, _ := feed.NewLog([]string{"A"}, 10, 0)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx, dst) }()
	<-dst.Ready()
	sse.StopNATS(t, ns)
	for cc.nc.IsConnected() {
		time.Sleep(10 * time.Millisecond) // polling the client's view of the cut
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not end while the broker was down")
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                        "nats://127.0.0.1:4222",
		"nats://alice:s3cret@h:4222,nats://tok@g:4222": "nats://redacted@h:4222,nats://redacted@g:4222",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := Connect("nats://alice:s3cret@127.0.0.1:1", quiet()); err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("an unreachable broker with a password: %v", err)
	}
}
