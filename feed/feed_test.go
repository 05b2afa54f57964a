package feed_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	. "tickertape/feed"
	"tickertape/internal/sse"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fixture struct {
	log *Log
	hub *Hub
	srv *sse.Served
	reg *prometheus.Registry
}

// newFixture serves a hub of a log of size events on path p. At the end of
// the test the log closes, and every stream must end with it.
func newFixture(t *testing.T, p sse.Path, size int, opts Options) *fixture {
	t.Helper()
	l, h, reg := NewTestHub(t, size, opts)
	srv := sse.Serve(t, p, h.SSEHandler())
	t.Cleanup(func() {
		l.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.Wait(ctx); err != nil {
			t.Errorf("streams still open after the log closed: %v", err)
		}
	})
	return &fixture{log: l, hub: h, srv: srv, reg: reg}
}

type snapshotData struct {
	Quotes   []TestQuote     `json:"quotes"`
	Scores   []any           `json:"scores"`
	Statuses []any           `json:"statuses"`
	Market   *TestMarket     `json:"market"`
	Session  json.RawMessage `json:"session"`
}

func TestStreamHeadersSnapshotAndLiveEvents(t *testing.T) {
	sse.OnBothPaths(t, testStreamHeadersSnapshotAndLiveEvents)
}

func testStreamHeadersSnapshotAndLiveEvents(t *testing.T, p sse.Path) {
	f := newFixture(t, p, 1000, Options{})
	PublishTestEvents(t, f.log, 8)
	s := f.srv.Open(t, "/")
	h := s.Response.Header
	for k, want := range map[string]string{
		"Content-Type":      "text/event-stream; charset=utf-8",
		"Cache-Control":     "no-cache",
		"X-Accel-Buffering": "no",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	snap := s.Next(t)
	if snap.Name != "snapshot" {
		t.Fatalf("first event %q, want snapshot", snap.Name)
	}
	if s.Reader.Retry != 1000 {
		t.Errorf("retry = %d, want 1000 before the snapshot", s.Reader.Retry)
	}
	if got := sse.ID(t, snap); got != 1007 {
		t.Errorf("snapshot id %d, want the newest event's, 1007", got)
	}
	var sd snapshotData
	if err := json.Unmarshal([]byte(snap.Data), &sd); err != nil {
		t.Fatal(err)
	}
	if len(sd.Quotes) != 3 || sd.Market == nil || sd.Market.Index != 7 {
		t.Errorf("snapshot = %+v, want 3 quotes and the market of event 7", sd)
	}
	PublishTestEvents(t, f.log, 20)
	prev := sse.ID(t, snap)
	for range 20 {
		ev := s.Next(t)
		if got := sse.ID(t, ev); got != prev+1 {
			t.Fatalf("id %d after %d: a gap or a repeat", got, prev)
		}
		prev++
		if ev.Name != "quote" && ev.Name != "market" {
			t.Fatalf("event %q", ev.Name)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
			t.Fatalf("data %q: %v", ev.Data, err)
		}
	}
}

func TestResume(t *testing.T) { sse.OnBothPaths(t, testResume) }

func testResume(t *testing.T, p sse.Path) {
	f := newFixture(t, p, 100, Options{})
	PublishTestEvents(t, f.log, 50) // ids 1000..1049

	for _, tc := range []struct {
		name, header, query string
		first               uint64 // the first market event's id, 0 if reset
		reset               string
	}{
		{name: "header", header: "1010", first: 1011},
		{name: "query", query: "?lastEventId=1020", first: 1021},
		{name: "header wins", header: "1030", query: "?lastEventId=1020", first: 1031},
		{name: "garbage", header: "abc", reset: "bad_id"},
		{name: "negative", header: "-5", reset: "bad_id"},
		{name: "huge", header: "99999999999999999999999", reset: "bad_id"},
		{name: "future", header: "5000", reset: "future"},
		{name: "older run", header: "12", reset: "too_old"},
		// Last: it publishes one more event.
		{name: "newest", header: "1049", first: 1050},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.header != "" {
				hdr = []string{"Last-Event-ID", tc.header}
			}
			s := f.srv.Open(t, "/"+tc.query, hdr...)
			if tc.name == "newest" {
				// Caught up: nothing is owed, no snapshot, until the next event.
				PublishTestEvents(t, f.log, 1)
			}
			ev := s.Next(t)
			if tc.reset != "" {
				if ev.Name != "reset" || ev.Data != `{"reason":"`+tc.reset+`"}` {
					t.Fatalf("got %s %s, want reset %s", ev.Name, ev.Data, tc.reset)
				}
				if snap := s.Next(t); snap.Name != "snapshot" || sse.ID(t, snap) != 1049 {
					t.Fatalf("after reset: %s id %s, want snapshot id 1049", snap.Name, snap.ID)
				}
				return
			}
			want := tc.first
			for ; want <= f.log.Newest(); want++ {
				if ev.Name == "snapshot" {
					t.Fatal("a resumed stream got a snapshot")
				}
				if got := sse.ID(t, ev); got != want {
					t.Fatalf("id %d, want %d", got, want)
				}
				if want < f.log.Newest() {
					ev = s.Next(t)
				}
			}
		})
	}
	// A reset is counted once its batch is written, which may be just after
	// the client read it: wait for the counts, within a deadline.
	wants := []string{`tickertape_replay_total{result="hit"} 4`, `tickertape_replay_total{result="miss"} 5`,
		`tickertape_resets_total{reason="bad_id"} 3`, `tickertape_resets_total{reason="too_old"} 1`}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		body := Scrape(t, f.reg)
		missing := slices.DeleteFunc(slices.Clone(wants), func(w string) bool { return strings.Contains(body, w) })
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack %s:\n%s", missing, body)
		}
	}
}

func TestFiltersAndConflation(t *testing.T) { sse.OnBothPaths(t, testFiltersAndConflation) }

func testFiltersAndConflation(t *testing.T, p sse.Path) {
	f := newFixture(t, p, 1000, Options{})
	PublishTestEvents(t, f.log, 4)
	s := f.srv.Open(t, "/?symbols=msft,AAPL&events=quote")
	snap := s.Next(t)
	var sd snapshotData
	json.Unmarshal([]byte(snap.Data), &sd)
	if len(sd.Quotes) != 2 {
		t.Fatalf("snapshot has %d quotes, want the 2 subscribed", len(sd.Quotes))
	}
	PublishTestEvents(t, f.log, 40)
	prev := sse.ID(t, snap)
	for range 20 { // 40 events: 30 quotes, 10 of them GOOG; 10 market
		ev := s.Next(t)
		var q TestQuote
		json.Unmarshal([]byte(ev.Data), &q)
		if ev.Name != "quote" || (q.Symbol != "AAPL" && q.Symbol != "MSFT") {
			t.Fatalf("filtered stream got %s %s", ev.Name, ev.Data)
		}
		if n := sse.ID(t, ev); n <= prev {
			t.Fatalf("id %d not above %d", n, prev)
		}
		prev = sse.ID(t, ev)
	}

	// A throttled stream gets only the newest quote per symbol per interval.
	t2 := f.srv.Open(t, "/?throttle=50ms&events=quote")
	t2.Next(t) // snapshot
	PublishTestEvents(t, f.log, 300)
	seen := map[string]float64{}
	quotes := 0
	deadline := time.Now().Add(10 * time.Second)
	// The newest prices of the 300 (see publish): AAPL 397, MSFT 398, GOOG 396.
	for seen["AAPL"] != 397 || seen["MSFT"] != 398 || seen["GOOG"] != 396 {
		if time.Now().After(deadline) {
			t.Fatalf("throttled stream never reached the newest prices: %v", seen)
		}
		ev := t2.Next(t)
		var q TestQuote
		json.Unmarshal([]byte(ev.Data), &q)
		if q.Price < seen[q.Symbol] {
			t.Fatalf("throttled stream went back in time: %s", ev.Data)
		}
		seen[q.Symbol] = q.Price
		quotes++
	}
	if quotes > 150 {
		t.Errorf("throttled stream sent %d of 225 quotes: not conflated", quotes)
	}
}

func TestBadRequests(t *testing.T) { sse.OnBothPaths(t, testBadRequests) }

func testBadRequests(t *testing.T, p sse.Path) {
	f := newFixture(t, p, 10, Options{Query: QueryLimits{MaxSymbols: 5}})
	for _, tc := range []struct {
		query, accept string
		status        int
		contains      []string
	}{
		{"?symbols=AAPL,NOPE,ZZZ", "", 400, []string{`"unknownSymbols":["NOPE","ZZZ"]`}},
		{"?events=quote,trade", "", 400, []string{`"unknownEvents":["trade"]`}},
		{"?throttle=fast", "", 400, []string{`throttle \"fast\" is not a duration`}},
		{"?throttle=1ms", "", 400, []string{"out of range"}},
		{"?symbol=AAPL", "", 400, []string{`"unknownParams":["symbol"]`}},
		{"?symbols=A,B,C,D,E,F", "", 400, []string{"at most 5"}},
		{"?symbols=%zz", "", 400, []string{"malformed query"}},
		{"?symbols=%ff%fe", "", 400, []string{"\"unknownSymbols\":[\"\ufffd\ufffd\"]"}},
		{"", "text/html", 406, []string{"text/event-stream"}},
	} {
		var hdr []string
		if tc.accept != "" {
			hdr = []string{"Accept", tc.accept}
		}
		resp, b := f.srv.Get(t, "/"+tc.query, hdr...)
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("%s: %s %s, want %d JSON", tc.query, resp.Status, resp.Header.Get("Content-Type"), tc.status)
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(b), &body); err != nil || body["error"] == "" {
			t.Errorf("%s: body %s is not {\"error\":...}", tc.query, b)
		}
		for _, c := range tc.contains {
			if !strings.Contains(b, c) {
				t.Errorf("%s: body %s lacks %s", tc.query, b, c)
			}
		}
	}
}

func TestHeartbeatOnQuietStream(t *testing.T) { sse.OnBothPaths(t, testHeartbeatOnQuietStream) }

func testHeartbeatOnQuietStream(t *testing.T, p sse.Path) {
	f := newFixture(t, p, 10, Options{Heartbeat: 100 * time.Millisecond})
	PublishTestEvents(t, f.log, 1)
	s := f.srv.Open(t, "/")
	br := bufio.NewReader(s.Response.Body)
	var lines []string
	for len(lines) < 6 { // retry, blank, id, event, data, blank
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	// Nothing is published: the next line is a heartbeat comment.
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, ":") {
		t.Fatalf("after %q on a quiet stream: %q %v, want a comment", lines, line, err)
	}
}

// TestMaxStreams: past the limit, /events says "later" (docs/API.md): a
// 200 event stream with Retry-After, a comment naming the reason and a
// retry: line, then the end of the response; no event, no id. A bad query
// is still its 400.
func TestMaxStreams(t *testing.T) { sse.OnBothPaths(t, testMaxStreams) }

func testMaxStreams(t *testing.T, p sse.Path) {
	f := newFixture(t, p, 10, Options{MaxStreams: 1})
	PublishTestEvents(t, f.log, 1)
	s := f.srv.Open(t, "/")
	s.Next(t)
	resp, b := f.srv.Get(t, "/") // the response ends by itself
	const want = ": too many open streams (1); retry later or on another node\nretry: 5000\n\n"
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" ||
		resp.Header.Get("Retry-After") != "5" || resp.Header.Get("Cache-Control") != "no-cache" || b != want {
		t.Fatalf("second stream: %s Content-Type=%q Retry-After=%q Cache-Control=%q %q; want 200, an event stream, Retry-After 5, %q",
			resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"), resp.Header.Get("Cache-Control"), b, want)
	}
	r := NewReader(strings.NewReader(b))
	if ev, err := r.Next(); err != io.EOF || r.Retry != 5000 || r.Comments != 1 {
		t.Fatalf("read as an event stream: %+v %v, retry %d, %d comments; want no event, retry 5000, 1 comment", ev, err, r.Retry, r.Comments)
	}
	if resp, _ = f.srv.Get(t, "/?symbols=NOPE"); resp.StatusCode != 400 {
		t.Errorf("a bad query on a full server: %s, want 400", resp.Status)
	}
	body := Scrape(t, f.reg)
	for _, want := range []string{`tickertape_rejected_total{limit="max_streams"} 1`, `tickertape_rejected_total{limit="bad_request"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// A client that stops reading is lapped and gets reset + snapshot, while a
// client that keeps up sees every event; the writer never waits.
func TestSlowClientIsLappedOthersSeeEverything(t *testing.T) {
	sse.OnBothPaths(t, testSlowClientIsLappedOthersSeeEverything)
}

func testSlowClientIsLappedOthersSeeEverything(t *testing.T, p sse.Path) {
	f := newFixture(t, p, 2048, Options{WriteTimeout: time.Minute})
	PublishTestEvents(t, f.log, 1)

	// The slow client: a connection of its own that reads nothing for now.
	slow := f.srv.Stalled(t, "/")

	fast := f.srv.Open(t, "/")
	last := sse.ID(t, fast.Next(t))
	pad := strings.Repeat("x", 4096)
	const total = 12000 // 48 MB: more than the socket buffers and the ring
	for sent := 0; sent < total; {
		for range 200 {
			s := TestSymbols[sent%3]
			if err := f.log.Publish("quote", s, TestQuote{Symbol: s, Price: float64(sent), Pad: pad}); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		for last < 1000+uint64(sent) { // the fast client keeps up, with no gap
			ev := fast.Next(t)
			if n := sse.ID(t, ev); n != last+1 {
				t.Fatalf("fast client: id %d after %d (%s)", n, last, ev.Name)
			}
			last++
		}
	}

	// Now the slow client reads: events in order, then reset + snapshot.
	r := slow.Reader
	var prev uint64
	for {
		ev, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Name == "reset" {
			if ev.Data != `{"reason":"lapped"}` {
				t.Fatalf("reset %s", ev.Data)
			}
			break
		}
		if ev.Name != "snapshot" && sse.ID(t, ev) != prev+1 {
			t.Fatalf("slow client: id %d after %d before its reset", sse.ID(t, ev), prev)
		}
		prev = sse.ID(t, ev)
	}
	snap, err := r.Next()
	if err != nil || snap.Name != "snapshot" {
		t.Fatalf("after reset: %s %v", snap.Name, err)
	}
	if !strings.Contains(Scrape(t, f.reg), `tickertape_resets_total{reason="lapped"} 1`) {
		t.Error("lapped reset not counted")
	}
}

// A client that reads nothing at all is dropped after the write deadline,
// and the drop is counted.
func TestStuckClientIsDropped(t *testing.T) { sse.OnBothPaths(t, testStuckClientIsDropped) }

func testStuckClientIsDropped(t *testing.T, p sse.Path) {
	f := newFixture(t, p, 256, Options{WriteTimeout: 200 * time.Millisecond})
	PublishTestEvents(t, f.log, 1)
	f.srv.Stalled(t, "/") // reads nothing, ever
	pad := strings.Repeat("x", 4096)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(Scrape(t, f.reg), `tickertape_streams_dropped_total{cause="write_timeout",transport="sse"} 1`) {
		if time.Now().After(deadline) {
			t.Fatal("stuck client was never dropped")
		}
		for range 100 {
			f.log.Publish("quote", "AAPL", TestQuote{Symbol: "AAPL", Pad: pad})
		}
		time.Sleep(20 * time.Millisecond) // pacing the publisher, not synchronising
	}
}
