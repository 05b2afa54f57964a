package feed

import (
	"context"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	PublishTestEvents(t, f.log, 4)
	none := f.openStream(t, "?symbols=GOOG&events=score", nil) // no score is published
	some := f.openStream(t, "?symbols=AAPL&events=quote", nil)
	none.next(t)
	last := id(t, some.next(t)) // the snapshots
	subNone := f.watchedSub(t, KindScore, "GOOG")
	subSome := f.watchedSub(t, KindQuote, "AAPL")

	const n = 400
	PublishTestEvents(t, f.log, n) // quotes of all three symbols, and market events
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
	PublishTestEvents(t, f.log, 4)
	s := f.openStream(t, "?symbols=GOOG&events=score", nil)
	s.next(t) // snapshot
	f.watchedSub(t, KindScore, "GOOG")
	PublishTestEvents(t, f.log, 200) // 12 rings' worth, none of it for s
	if err := f.log.Publish("score", "GOOG", map[string]any{"symbol": "GOOG", "score": 3}); err != nil {
		t.Fatal(err)
	}
	if ev := s.next(t); ev.Name != "score" {
		t.Fatalf("after 200 unwanted events: %s %s, want the score", ev.Name, ev.Data)
	}
}

// idWriter keeps the ids of the events a subscription delivers.
type idWriter struct {
	mu  sync.Mutex
	ids []uint64
}

func (w *idWriter) WriteBatch(msgs [][]byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range msgs {
		line, _, _ := strings.Cut(string(m), "\n")
		if id, ok := strings.CutPrefix(line, "id: "); ok && !strings.Contains(string(m), "event: snapshot") {
			n, _ := strconv.ParseUint(id, 10, 64)
			w.ids = append(w.ids, n)
		}
	}
	return nil
}

func (w *idWriter) Heartbeat() error { return nil }

func (w *idWriter) last() (uint64, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.ids) == 0 {
		return 0, 0
	}
	return w.ids[len(w.ids)-1], len(w.ids)
}

// Subscribers with every kind of filter, woken by interest while events
// of every kind are appended as fast as they come: each gets exactly the
// events its filter passes, in order, none twice, none missing.
func TestEveryFilterGetsExactlyItsEvents(t *testing.T) {
	t.Parallel()
	l, err := NewLog(TestSymbols, 1<<15, 1000)
	if err != nil {
		t.Fatal(err)
	}
	l.Publish("market", "", TestMarket{Index: 0}) // before anyone subscribes
	rng := rand.New(rand.NewPCG(1, 2))
	type sub struct {
		f Filter
		w *idWriter
	}
	var subs []sub
	for i := range 24 {
		var f Filter
		if i%3 != 0 {
			f.Kinds = uint8(1 + rng.IntN(1<<numKinds-1))
		}
		if i%2 == 1 {
			f.Symbols = []bool{rng.IntN(2) == 0, rng.IntN(2) == 0, rng.IntN(2) == 0}
		}
		subs = append(subs, sub{f: f, w: &idWriter{}})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range subs {
		sb := l.Subscribe(s.f, "", SSE)
		started := make(chan struct{})
		wg.Go(func() {
			w := &startWriter{Writer: s.w, started: started}
			sb.Run(ctx, w, time.Hour, nil)
		})
		<-started // the snapshot is out: every event from here is owed
	}
	var want [][]uint64 = make([][]uint64, len(subs))
	kinds := []string{"quote", "score", "market", "status"}
	for range 20000 {
		k := rng.IntN(4)
		sym := ""
		symIdx := -1
		if k < 2 || rng.IntN(2) == 0 {
			symIdx = rng.IntN(len(TestSymbols))
			sym = TestSymbols[symIdx]
		}
		if err := l.Publish(kinds[k], sym, map[string]int{"n": 1}); err != nil {
			t.Fatal(err)
		}
		e := &entry{kind: Kind(k), sym: symIdx}
		for i, s := range subs {
			if s.f.wants(e) {
				want[i] = append(want[i], l.Newest())
			}
		}
		if rng.IntN(64) == 0 {
			runtime.Gosched()
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for i, s := range subs {
		for {
			last, n := s.w.last()
			if n == len(want[i]) && (n == 0 || last == want[i][n-1]) || n > len(want[i]) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("subscriber %d (%+v): %d of %d events", i, s.f, n, len(want[i]))
			}
			time.Sleep(time.Millisecond) // polling an outside view, not synchronising
		}
		if !slices.Equal(s.w.ids, want[i]) {
			t.Errorf("subscriber %d (%+v): got %d events, want %d (first difference at %d)",
				i, s.f, len(s.w.ids), len(want[i]), firstDiff(s.w.ids, want[i]))
		}
	}
	if n := l.wasted.Load(); n != 0 {
		t.Errorf("%d wasted wake-ups", n)
	}
	cancel()
	wg.Wait()
}

func firstDiff(a, b []uint64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// startWriter closes started after its first batch (the snapshot).
type startWriter struct {
	Writer
	started chan struct{}
	once    sync.Once
}

func (w *startWriter) WriteBatch(msgs [][]byte) error {
	defer w.once.Do(func() { close(w.started) })
	return w.Writer.WriteBatch(msgs)
}
