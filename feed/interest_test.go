package feed

import (
	"strings"
	"testing"
	"time"
)

// watchedSub returns the one subscription the index holds for kind and
// symbol (with a symbol filter), waiting for its stream to be watched.
func (f *fixture) watchedSub(t *testing.T, kind Kind, symbol string) *Subscription {
	t.Helper()
	i := f.log.symIndex[symbol]
	deadline := time.Now().Add(10 * time.Second)
	for {
		ix := &f.log.interest
		ix.mu.Lock()
		var found []*Subscription
		if ki := &ix.kinds[kind]; ki.bySym != nil {
			for _, s := range ki.bySym[i].subs {
				if !s.unwatched {
					found = append(found, s)
				}
			}
		}
		ix.mu.Unlock()
		if len(found) == 1 {
			return found[0]
		}
		if len(found) > 1 || time.Now().After(deadline) {
			t.Fatalf("%d watched subscriptions for %s %s, want 1", len(found), kind, symbol)
		}
		time.Sleep(5 * time.Millisecond) // polling the index, not synchronising
	}
}

// A subscriber whose filter passes none of the events appended is never
// woken, on either path; one whose filter passes some is woken once per
// event it wants, and the log counts no wasted wake-up.
func TestUnwantedEventsWakeNobody(t *testing.T) { onBothPaths(t, testUnwantedEventsWakeNobody) }

func testUnwantedEventsWakeNobody(t *testing.T, p path) {
	f := newFixture(t, p, 1000, Options{})
	f.publish(t, 4)
	none := f.openStream(t, "?symbols=GOOG&events=score", nil) // no score is published
	some := f.openStream(t, "?symbols=AAPL&events=quote", nil)
	none.next(t)
	last := id(t, some.next(t)) // the snapshots
	subNone := f.watchedSub(t, KindScore, "GOOG")
	subSome := f.watchedSub(t, KindQuote, "AAPL")

	const n = 400
	f.publish(t, n) // quotes of all three symbols, and market events
	wanted := 0
	for i := range n {
		if i%4 != 3 && i%3 == 0 {
			wanted++
		}
	}
	for range wanted {
		ev := some.next(t)
		if ev.Name != "quote" || !strings.Contains(ev.Data, `"AAPL"`) || id(t, ev) <= last {
			t.Fatalf("AAPL quote stream got %s %s", ev.Name, ev.Data)
		}
		last = id(t, ev)
	}
	if got := subNone.wakeCount(); got != 0 {
		t.Errorf("a subscriber that wants none of %d events was woken %d times", n, got)
	}
	if got := subSome.wakeCount(); got != uint64(wanted) {
		t.Errorf("a subscriber that wants %d of %d events was woken %d times", wanted, n, got)
	}

	// The filter is live: the one event it wants wakes it, once.
	if err := f.log.Publish("score", "GOOG", map[string]any{"symbol": "GOOG", "score": 12}); err != nil {
		t.Fatal(err)
	}
	if ev := none.next(t); ev.Name != "score" {
		t.Fatalf("score stream got %s", ev.Name)
	}
	if got := subNone.wakeCount(); got != 1 {
		t.Errorf("woken %d times for one wanted event", got)
	}
	if got := f.log.wasted.Load(); got != 0 {
		t.Errorf("%d wasted wake-ups", got)
	}
}

// A subscriber idle for longer than the ring (every event was for someone
// else) is not behind: its next event comes with no reset.
func TestIdleSubscriberIsNotLapped(t *testing.T) { onBothPaths(t, testIdleSubscriberIsNotLapped) }

func testIdleSubscriberIsNotLapped(t *testing.T, p path) {
	f := newFixture(t, p, 16, Options{})
	f.publish(t, 4)
	s := f.openStream(t, "?symbols=GOOG&events=score", nil)
	s.next(t) // snapshot
	f.watchedSub(t, KindScore, "GOOG")
	f.publish(t, 200) // 12 rings' worth, none of it for s
	if err := f.log.Publish("score", "GOOG", map[string]any{"symbol": "GOOG", "score": 3}); err != nil {
		t.Fatal(err)
	}
	if ev := s.next(t); ev.Name != "score" {
		t.Fatalf("after 200 unwanted events: %s %s, want the score", ev.Name, ev.Data)
	}
}
