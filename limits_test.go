package main

import (
	"testing"

	"tickertape/internal/sse"
)

// TestFullServerSaysLater: past -max-streams, /events tells an EventSource
// "later", not "never" (docs/API.md): one that keeps the HTML standard's
// rules (it closes for good on any answer but 200) waits the retry: it was
// given, asks again, and once a place is free it gets in and resumes from
// the id it asked for, with no gap.
func TestFullServerSaysLater(t *testing.T) { sse.OnBothPaths(t, testFullServerSaysLater) }

func testFullServerSaysLater(t *testing.T, p sse.Path) {
	s := startServerOn(t, p, nil, "-max-streams", "1", "-symbols", "AAPL,MSFT", "-rate", "200")
	holder := s.open(t, "/events")
	snap := holder.Next(t)
	if snap.Name != "snapshot" {
		t.Fatalf("first event %s, want snapshot", snap.Name)
	}
	from := sse.ID(t, snap)

	es := sse.OpenEventSource(t, s.client, s.url+"/events?lastEventId="+snap.ID)
	s.waitMetric(t, `tickertape_rejected_total{limit="max_streams"}`, func(v float64) bool { return v >= 1 })
	if err := es.Failed(); err != nil {
		t.Fatalf("the EventSource closed for good on a full server: %v", err)
	}
	holder.Stop() // a place frees

	// The answer it had said retry: 5000; within next's 20 s it asks again
	// (more than once if the place was not free yet) and gets in.
	es.Follow(t, from, from+20)
	if err := es.Failed(); err != nil {
		t.Fatalf("the EventSource closed for good: %v", err)
	}
	if n := es.StreamsOpened(); n < 2 {
		t.Errorf("responses taken as a stream: %d, want the 'later' one and the stream", n)
	}
}
