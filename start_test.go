package main

import (
	"testing"

	"tickertape/feed"
	"tickertape/market"
)

// A file source at -speed 0 may be over before start looks: the node must
// serve it all the same, since it published its opening picture. (start
// once picked at random between "ready" and "done" when both had happened,
// and refused to serve one time in two; TestFileSourceAndRecording flaked.)
func TestAwaitReadyAfterTheSourceEnded(t *testing.T) {
	t.Parallel()
	log, err := feed.NewLog([]string{"AAPL"}, 16, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := log.Publish(market.EventMarket, "", &market.Market{Session: "open", TS: 1}); err != nil {
		t.Fatal(err)
	}
	n := &node{log: log, srcDone: make(chan struct{})}
	close(n.srcDone) // the source returned nil: it ran out
	for i := range 100 {
		if ready, err := n.awaitReady(t.Context()); !ready {
			t.Fatalf("try %d: not ready (%v), though the log is", i, err)
		}
	}

	// A source that ends before its picture is an error.
	empty, err := feed.NewLog([]string{"AAPL"}, 16, 0)
	if err != nil {
		t.Fatal(err)
	}
	n = &node{log: empty, srcDone: n.srcDone}
	if ready, err := n.awaitReady(t.Context()); ready || err == nil {
		t.Fatalf("a source that ended before its first market summary: ready %v, err %v; want an error", ready, err)
	}
}
