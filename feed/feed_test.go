package feed

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(streamClientsEnv); spec != "" {
		os.Exit(streamClients(spec)) // a child of TestIdleStreamsHeap
	}
	goleak.VerifyTestMain(m)
}

var testSymbols = []string{"AAPL", "MSFT", "GOOG"}

type testQuote struct {
	Symbol string  `json:"symbol"`
	Price  float64 `json:"price"`
	Pad    string  `json:"pad,omitempty"`
}

type testMarket struct {
	Index float64 `json:"index"`
}

type fixture struct {
	log     *Log
	hub     *Hub
	srv     *httptest.Server
	reg     *prometheus.Registry
	path    path
	client  *http.Client
	streams int // streams opened with openStream
}

// path is one of the two ways a stream is served: hijacked HTTP/1.1, owned
// by the hub's writers, or HTTP/2 over TLS, on net/http's goroutine.
type path string

const (
	hijacked path = "hijacked"
	h2TLS    path = "h2"
)

// onBothPaths runs a stream test against both paths.
func onBothPaths(t *testing.T, test func(t *testing.T, p path)) {
	for _, p := range []path{hijacked, h2TLS} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			test(t, p)
		})
	}
}

func newFixture(t *testing.T, p path, size int, opts Options) *fixture {
	t.Helper()
	l, err := NewLog(testSymbols, size, 1000)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	opts.Metrics = NewMetrics(reg)
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	h := NewHub(l, opts)
	f := &fixture{log: l, hub: h, reg: reg, path: p}
	if p == h2TLS {
		f.srv = httptest.NewUnstartedServer(h.SSEHandler())
		f.srv.EnableHTTP2 = true
		f.srv.StartTLS()
		f.client = f.srv.Client()
	} else {
		f.srv = httptest.NewServer(h.SSEHandler())
		f.client = &http.Client{Transport: &http.Transport{}}
	}
	t.Cleanup(func() {
		l.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.Wait(ctx); err != nil {
			t.Errorf("streams still open after the log closed: %v", err)
		}
		f.srv.Close()
		f.client.CloseIdleConnections()
		if p == hijacked && !t.Failed() && h.writers.served.Load() == 0 && f.streams > 0 {
			t.Error("no stream was hijacked on the hijacked path")
		}
	})
	return f
}

// publishQuotes publishes n quotes, round robin over the symbols, and a
// market event after every third.
func (f *fixture) publish(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		var err error
		if i%4 == 3 {
			err = f.log.Publish("market", "", testMarket{Index: float64(i)})
		} else {
			s := testSymbols[i%len(testSymbols)]
			err = f.log.Publish("quote", s, testQuote{Symbol: s, Price: float64(100 + i)})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// rawStream opens a stream on a raw connection that reads nothing until
// the test does: a client as slow as the test wants it. On the h2 path it
// speaks HTTP/1.1 over TLS, which net/http serves on its own goroutine too.
func (f *fixture) rawStream(t *testing.T) net.Conn {
	t.Helper()
	var conn net.Conn
	var err error
	if f.path == h2TLS {
		cfg := f.srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
		cfg.NextProtos = []string{"http/1.1"}
		conn, err = tls.Dial("tcp", f.srv.Listener.Addr().String(), cfg)
	} else {
		conn, err = net.Dial("tcp", f.srv.Listener.Addr().String())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	return conn
}

// stream is a test client of /events.
type stream struct {
	resp *http.Response
	r    *Reader
}

func (f *fixture) openStream(t *testing.T, query string, hdr http.Header) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	url := f.srv.URL + query
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	if want := map[path]int{hijacked: 1, h2TLS: 2}[f.path]; resp.ProtoMajor != want {
		t.Fatalf("GET %s: %s on the %s path", url, resp.Proto, f.path)
	}
	f.streams++
	return &stream{resp: resp, r: NewReader(resp.Body)}
}

func (s *stream) next(t *testing.T) Event {
	t.Helper()
	ev, err := s.r.Next()
	if err != nil {
		t.Fatalf("reading stream: %v", err)
	}
	return ev
}

func id(t *testing.T, ev Event) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(ev.ID, 10, 64)
	if err != nil {
		t.Fatalf("event %s has id %q: %v", ev.Name, ev.ID, err)
	}
	return n
}

type snapshotData struct {
	Quotes   []testQuote     `json:"quotes"`
	Scores   []any           `json:"scores"`
	Statuses []any           `json:"statuses"`
	Market   *testMarket     `json:"market"`
	Session  json.RawMessage `json:"session"`
}

func TestStreamHeadersSnapshotAndLiveEvents(t *testing.T) {
	onBothPaths(t, testStreamHeadersSnapshotAndLiveEvents)
}

func testStreamHeadersSnapshotAndLiveEvents(t *testing.T, p path) {
	f := newFixture(t, p, 1000, Options{})
	f.publish(t, 8)
	s := f.openStream(t, "", nil)
	h := s.resp.Header
	for k, want := range map[string]string{
		"Content-Type":      "text/event-stream; charset=utf-8",
		"Cache-Control":     "no-cache",
		"X-Accel-Buffering": "no",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	snap := s.next(t)
	if snap.Name != "snapshot" {
		t.Fatalf("first event %q, want snapshot", snap.Name)
	}
	if s.r.Retry != 1000 {
		t.Errorf("retry = %d, want 1000 before the snapshot", s.r.Retry)
	}
	if got := id(t, snap); got != 1007 {
		t.Errorf("snapshot id %d, want the newest event's, 1007", got)
	}
	var sd snapshotData
	if err := json.Unmarshal([]byte(snap.Data), &sd); err != nil {
		t.Fatal(err)
	}
	if len(sd.Quotes) != 3 || sd.Market == nil || sd.Market.Index != 7 {
		t.Errorf("snapshot = %+v, want 3 quotes and the market of event 7", sd)
	}
	f.publish(t, 20)
	prev := id(t, snap)
	for range 20 {
		ev := s.next(t)
		if got := id(t, ev); got != prev+1 {
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

func TestResume(t *testing.T) { onBothPaths(t, testResume) }

func testResume(t *testing.T, p path) {
	f := newFixture(t, p, 100, Options{})
	f.publish(t, 50) // ids 1000..1049

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
			hdr := http.Header{}
			if tc.header != "" {
				hdr.Set("Last-Event-ID", tc.header)
			}
			s := f.openStream(t, tc.query, hdr)
			if tc.name == "newest" {
				// Caught up: nothing is owed, no snapshot, until the next event.
				f.publish(t, 1)
			}
			ev := s.next(t)
			if tc.reset != "" {
				if ev.Name != "reset" || ev.Data != `{"reason":"`+tc.reset+`"}` {
					t.Fatalf("got %s %s, want reset %s", ev.Name, ev.Data, tc.reset)
				}
				if snap := s.next(t); snap.Name != "snapshot" || id(t, snap) != 1049 {
					t.Fatalf("after reset: %s id %s, want snapshot id 1049", snap.Name, snap.ID)
				}
				return
			}
			want := tc.first
			for ; want <= f.log.Newest(); want++ {
				if ev.Name == "snapshot" {
					t.Fatal("a resumed stream got a snapshot")
				}
				if got := id(t, ev); got != want {
					t.Fatalf("id %d, want %d", got, want)
				}
				if want < f.log.Newest() {
					ev = s.next(t)
				}
			}
		})
	}
	body := scrape(t, f.reg)
	for _, want := range []string{`tickertape_replay_total{result="hit"} 4`, `tickertape_replay_total{result="miss"} 5`,
		`tickertape_resets_total{reason="bad_id"} 3`, `tickertape_resets_total{reason="too_old"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestFiltersAndConflation(t *testing.T) { onBothPaths(t, testFiltersAndConflation) }

func testFiltersAndConflation(t *testing.T, p path) {
	f := newFixture(t, p, 1000, Options{})
	f.publish(t, 4)
	s := f.openStream(t, "?symbols=msft,AAPL&events=quote", nil)
	snap := s.next(t)
	var sd snapshotData
	json.Unmarshal([]byte(snap.Data), &sd)
	if len(sd.Quotes) != 2 {
		t.Fatalf("snapshot has %d quotes, want the 2 subscribed", len(sd.Quotes))
	}
	f.publish(t, 40)
	prev := id(t, snap)
	for range 20 { // 40 events: 30 quotes, 10 of them GOOG; 10 market
		ev := s.next(t)
		var q testQuote
		json.Unmarshal([]byte(ev.Data), &q)
		if ev.Name != "quote" || (q.Symbol != "AAPL" && q.Symbol != "MSFT") {
			t.Fatalf("filtered stream got %s %s", ev.Name, ev.Data)
		}
		if n := id(t, ev); n <= prev {
			t.Fatalf("id %d not above %d", n, prev)
		}
		prev = id(t, ev)
	}

	// A throttled stream gets only the newest quote per symbol per interval.
	t2 := f.openStream(t, "?throttle=50ms&events=quote", nil)
	t2.next(t) // snapshot
	f.publish(t, 300)
	seen := map[string]float64{}
	quotes := 0
	deadline := time.Now().Add(10 * time.Second)
	// The newest prices of the 300 (see publish): AAPL 397, MSFT 398, GOOG 396.
	for seen["AAPL"] != 397 || seen["MSFT"] != 398 || seen["GOOG"] != 396 {
		if time.Now().After(deadline) {
			t.Fatalf("throttled stream never reached the newest prices: %v", seen)
		}
		ev := t2.next(t)
		var q testQuote
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

func TestBadRequests(t *testing.T) { onBothPaths(t, testBadRequests) }

func testBadRequests(t *testing.T, p path) {
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
		req, _ := http.NewRequest("GET", f.srv.URL+tc.query, nil)
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		resp, err := f.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("%s: %s %s, want %d JSON", tc.query, resp.Status, resp.Header.Get("Content-Type"), tc.status)
		}
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil || body["error"] == "" {
			t.Errorf("%s: body %s is not {\"error\":...}", tc.query, b)
		}
		for _, c := range tc.contains {
			if !strings.Contains(string(b), c) {
				t.Errorf("%s: body %s lacks %s", tc.query, b, c)
			}
		}
	}
}

func TestHeartbeatOnQuietStream(t *testing.T) { onBothPaths(t, testHeartbeatOnQuietStream) }

func testHeartbeatOnQuietStream(t *testing.T, p path) {
	f := newFixture(t, p, 10, Options{Heartbeat: 100 * time.Millisecond})
	f.publish(t, 1)
	resp, err := f.client.Get(f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
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

func TestMaxStreams(t *testing.T) { onBothPaths(t, testMaxStreams) }

func testMaxStreams(t *testing.T, p path) {
	f := newFixture(t, p, 10, Options{MaxStreams: 1})
	f.publish(t, 1)
	s := f.openStream(t, "", nil)
	s.next(t)
	resp, err := f.client.Get(f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "too many open streams") {
		t.Fatalf("second stream: %s Retry-After=%q %s", resp.Status, resp.Header.Get("Retry-After"), b)
	}
}

// A client that stops reading is lapped and gets reset + snapshot, while a
// client that keeps up sees every event; the writer never waits.
func TestSlowClientIsLappedOthersSeeEverything(t *testing.T) {
	onBothPaths(t, testSlowClientIsLappedOthersSeeEverything)
}

func testSlowClientIsLappedOthersSeeEverything(t *testing.T, p path) {
	f := newFixture(t, p, 2048, Options{WriteTimeout: time.Minute})
	f.publish(t, 1)

	// The slow client: a raw connection that reads nothing for now.
	conn := f.rawStream(t)

	fast := f.openStream(t, "", nil)
	last := id(t, fast.next(t))
	pad := strings.Repeat("x", 4096)
	const total = 12000 // 48 MB: more than the socket buffers and the ring
	for sent := 0; sent < total; {
		for range 200 {
			s := testSymbols[sent%3]
			if err := f.log.Publish("quote", s, testQuote{Symbol: s, Price: float64(sent), Pad: pad}); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		for last < 1000+uint64(sent) { // the fast client keeps up, with no gap
			ev := fast.next(t)
			if n := id(t, ev); n != last+1 {
				t.Fatalf("fast client: id %d after %d (%s)", n, last, ev.Name)
			}
			last++
		}
	}

	// Now the slow client reads: events in order, then reset + snapshot.
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Not resp.Body.Close: it would drain an endless stream. Closing the
	// connection at cleanup ends it.
	r := NewReader(resp.Body)
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
		if ev.Name != "snapshot" && id(t, ev) != prev+1 {
			t.Fatalf("slow client: id %d after %d before its reset", id(t, ev), prev)
		}
		prev = id(t, ev)
	}
	snap, err := r.Next()
	if err != nil || snap.Name != "snapshot" {
		t.Fatalf("after reset: %s %v", snap.Name, err)
	}
	if !strings.Contains(scrape(t, f.reg), `tickertape_resets_total{reason="lapped"} 1`) {
		t.Error("lapped reset not counted")
	}
}

// A client that reads nothing at all is dropped after the write deadline,
// and the drop is counted.
func TestStuckClientIsDropped(t *testing.T) { onBothPaths(t, testStuckClientIsDropped) }

func testStuckClientIsDropped(t *testing.T, p path) {
	f := newFixture(t, p, 256, Options{WriteTimeout: 200 * time.Millisecond})
	f.publish(t, 1)
	f.rawStream(t) // reads nothing, ever
	pad := strings.Repeat("x", 4096)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(scrape(t, f.reg), `tickertape_streams_dropped_total{cause="write_timeout",transport="sse"} 1`) {
		if time.Now().After(deadline) {
			t.Fatal("stuck client was never dropped")
		}
		for range 100 {
			f.log.Publish("quote", "AAPL", testQuote{Symbol: "AAPL", Pad: pad})
		}
		time.Sleep(20 * time.Millisecond) // pacing the publisher, not synchronising
	}
}

func scrape(t *testing.T, reg *prometheus.Registry) string {
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
