package feed

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// drain returns what a subscription is owed now, as SSE text.
func drain(s *Subscription) string {
	msgs, _, _ := s.Next(nil)
	var b strings.Builder
	for _, m := range msgs {
		b.Write(m)
	}
	return b.String()
}

func TestAppendKeepsThePublishersIDs(t *testing.T) {
	src, _ := NewLog([]string{"AAPL", "MSFT"}, 8, 1000)
	dst, _ := NewLog([]string{"AAPL", "MSFT"}, 8, 0) // its own start does not matter
	pub := func(name, sym string, data string) {
		t.Helper()
		if err := src.Publish(name, sym, json.RawMessage(data)); err != nil {
			t.Fatal(err)
		}
		id := src.Newest()
		if err := dst.Append(id, name, sym, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	pub("quote", "AAPL", `{"symbol":"AAPL","price":1}`)
	pub("score", "AAPL", `{"symbol":"AAPL","score":5}`)
	pub("market", "", `{"index":100}`)
	pub("status", "", `{"state":"open"}`)
	if dst.Newest() != 1003 {
		t.Fatalf("newest %d, want the publisher's 1003", dst.Newest())
	}
	select {
	case <-dst.Ready():
		t.Fatal("Append made the log ready; only MarkReady may")
	default:
	}
	dst.MarkReady()
	dst.MarkReady() // twice is fine
	<-dst.Ready()

	// A resume from the same id gives the same bytes on both logs.
	a, b := drain(src.Subscribe(Filter{}, "1001", SSE)), drain(dst.Subscribe(Filter{}, "1001", SSE))
	if a != b || !strings.Contains(a, "id: 1003\n") {
		t.Fatalf("resume differs:\n%s\n---\n%s", a, b)
	}
	sa, ida := src.Snapshot(nil)
	sb, idb := dst.Snapshot(nil)
	if string(sa) != string(sb) || ida != idb {
		t.Fatalf("snapshots differ: %d %s / %d %s", ida, sa, idb, sb)
	}

	if err := dst.Append(1002, "quote", "AAPL", []byte(`{}`)); !errors.Is(err, ErrStale) {
		t.Fatalf("an old id: %v, want ErrStale", err)
	}
	if err := dst.Append(1004, "quote", "NOPE", []byte(`{}`)); err == nil {
		t.Fatal("an unknown symbol was appended")
	}
	if err := dst.Append(1004, "quote", "AAPL", []byte(`{"x":`)); err == nil {
		t.Fatal("bad JSON was appended")
	}
}

// A gap in the ids is never silent: a live subscriber gets a reset and a
// snapshot, a resume from before the gap gets too_old, and one after it
// resumes.
func TestAppendGapResets(t *testing.T) {
	l, _ := NewLog([]string{"AAPL"}, 8, 0)
	for id := uint64(50); id < 54; id++ {
		if err := l.Append(id, "quote", "AAPL", []byte(`{"symbol":"AAPL","price":`+strconv.FormatUint(id, 10)+`}`)); err != nil {
			t.Fatal(err)
		}
	}
	live := l.Subscribe(Filter{}, "53", SSE)
	if got := drain(live); got != "" {
		t.Fatalf("nothing new yet, got %q", got)
	}
	if err := l.Append(90, "quote", "AAPL", []byte(`{"symbol":"AAPL","price":90}`)); err != nil {
		t.Fatal(err)
	}
	got := drain(live)
	if !strings.HasPrefix(got, "event: reset\ndata: {\"reason\":\"lapped\"}\n\nid: 90\nevent: snapshot\n") || !strings.Contains(got, `"price":90`) {
		t.Fatalf("after a gap the live subscriber got:\n%s", got)
	}
	if s := l.Subscribe(Filter{}, "52", SSE); s.Reset() != ResetTooOld {
		t.Fatalf("resume from before the gap: reset %q, want too_old", s.Reset())
	}
	if err := l.Append(91, "quote", "AAPL", []byte(`{"symbol":"AAPL","price":91}`)); err != nil {
		t.Fatal(err)
	}
	if got := drain(l.Subscribe(Filter{}, "90", SSE)); !strings.HasPrefix(got, "id: 91\nevent: quote\n") {
		t.Fatalf("resume after the gap: %q", got)
	}
}

func TestRestoreFillsTheSnapshot(t *testing.T) {
	l, _ := NewLog([]string{"AAPL", "MSFT"}, 8, 0)
	if l.HasMarket() {
		t.Fatal("an empty log has a market")
	}
	for _, r := range []struct{ name, sym, data string }{
		{"quote", "MSFT", `{"symbol":"MSFT","price":2}`},
		{"status", "MSFT", `{"symbol":"MSFT","state":"halted"}`},
		{"status", "", `{"state":"open"}`},
		{"market", "", `{"index":1}`},
	} {
		if err := l.Restore(r.name, r.sym, []byte(r.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Restore("quote", "NOPE", []byte(`{}`)); err == nil {
		t.Fatal("restored an unknown symbol")
	}
	snap, id := l.Snapshot(nil)
	want := `{"quotes":[{"symbol":"MSFT","price":2}],"scores":[],"statuses":[{"symbol":"MSFT","state":"halted"}],"session":{"state":"open"},"market":{"index":1}}`
	if string(snap) != want || id != 0 || !l.HasMarket() {
		t.Fatalf("snapshot %d %s", id, snap)
	}
}
