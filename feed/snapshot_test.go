package feed

import (
	"strings"
	"testing"
)

// Subscribers that start with nothing appended between them share one
// snapshot of all symbols, framed once; a new event, or a restored state,
// makes a new one. A snapshot of some symbols is each subscriber's own.
func TestSharedSnapshot(t *testing.T) {
	l, err := NewLog(TestSymbols, 100, 1000)
	if err != nil {
		t.Fatal(err)
	}
	l.Publish("quote", "AAPL", TestQuote{Symbol: "AAPL", Price: 1})
	first := func(f Filter, enc Transport) []byte {
		t.Helper()
		msgs, _, _ := l.Subscribe(f, "", enc).Next(nil)
		if len(msgs) != 1 || !strings.Contains(string(msgs[0]), "snapshot") {
			t.Fatalf("first messages %q, want one snapshot", msgs)
		}
		return msgs[0]
	}
	a, b := first(Filter{}, SSE), first(Filter{Kinds: 1 << KindQuote}, SSE)
	if &a[0] != &b[0] {
		t.Error("two subscribers in a row got two snapshots, not one shared")
	}
	if w := first(Filter{}, WS); !strings.HasPrefix(string(w), `{"event":"snapshot"`) {
		t.Errorf("WebSocket snapshot %s", w)
	}
	some := []bool{true, false, false}
	if c := first(Filter{Symbols: some}, SSE); strings.Contains(string(c), "MSFT") || &c[0] == &a[0] {
		t.Errorf("a snapshot of AAPL alone: %s", c)
	}

	l.Publish("quote", "MSFT", TestQuote{Symbol: "MSFT", Price: 2})
	c := first(Filter{}, SSE)
	if &c[0] == &a[0] || !strings.Contains(string(c), `"MSFT"`) {
		t.Errorf("after an event, the old snapshot: %s", c)
	}
	if err := l.Restore("quote", "GOOG", []byte(`{"symbol":"GOOG","price":3}`)); err != nil {
		t.Fatal(err)
	}
	if d := first(Filter{}, SSE); !strings.Contains(string(d), `"GOOG"`) {
		t.Errorf("after a restore, the old snapshot: %s", d)
	}
}

// TestSnapshotOneAllocation: a snapshot is built in one buffer of the size
// it needs, since a crowd that connects at once makes one per event.
func TestSnapshotOneAllocation(t *testing.T) {
	l, err := NewLog(TestSymbols, 100, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, sym := range TestSymbols {
		l.Publish("quote", sym, TestQuote{Symbol: sym, Price: float64(i + 1)})
		l.Publish("score", sym, map[string]any{"symbol": sym, "score": strings.Repeat("9", 300*i)})
	}
	l.Publish("market", "", map[string]any{"index": 100})
	for _, syms := range [][]bool{nil, {true, false, true}} {
		data, _ := l.Snapshot(syms)
		if cap(data)-len(data) > 3 {
			t.Errorf("a snapshot of %d bytes in a buffer of %d", len(data), cap(data))
		}
		if n := testing.AllocsPerRun(10, func() { l.Snapshot(syms) }); n != 1 {
			t.Errorf("a snapshot of symbols %v took %v allocations, want 1", syms, n)
		}
	}
}
