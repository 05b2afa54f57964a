package feed

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A client that stops reading fills its socket in the middle of a batch:
// its stream moves to the slow path, and when the client reads again it
// gets every event, in order, with no reset; then its stream comes back to
// the writers and goes on.
func TestFullSocketMovesToSlowPathLosingNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, hijacked, 8192, Options{WriteTimeout: time.Minute})
	PublishTestEvents(t, f.log, 1)
	conn := f.rawStream(t) // reads nothing for now
	metric := func(way string) string {
		return `tickertape_slow_path_total{transport="sse",way="` + way + `"} `
	}
	waitFor(t, f, `tickertape_clients{transport="sse"} 1`)

	pad := strings.Repeat("x", 4093) // frames of odd sizes: the socket fills mid-frame
	sent := 0
	for !strings.Contains(Scrape(t, f.reg), metric("slow")+"1") {
		if sent >= 7000 {
			t.Fatalf("%d events of 4 kB and the stream never left the writers", sent)
		}
		for range 100 {
			if err := f.log.Publish("quote", "AAPL", TestQuote{Symbol: "AAPL", Price: float64(sent), Pad: pad}); err != nil {
				t.Fatal(err)
			}
			sent++
		}
	}
	newest := f.log.Newest()

	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(resp.Body)
	snap, err := r.Next()
	if err != nil || snap.Name != "snapshot" {
		t.Fatalf("first event %s %v", snap.Name, err)
	}
	for want := id(t, snap) + 1; want <= newest; want++ {
		ev, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Name != "quote" || id(t, ev) != want {
			t.Fatalf("after a full socket: %s id %s, want quote %d", ev.Name, ev.ID, want)
		}
	}
	waitFor(t, f, metric("back")+"1")
	if err := f.log.Publish("market", "", TestMarket{Index: 1}); err != nil {
		t.Fatal(err)
	}
	if ev, err := r.Next(); err != nil || ev.Name != "market" || id(t, ev) != newest+1 {
		t.Fatalf("back on the writers: %s %v, want market %d", ev.Name, err, newest+1)
	}
	if body := Scrape(t, f.reg); strings.Contains(body, `tickertape_resets_total{reason="lapped"} 1`) {
		t.Error("the slow stream was lapped")
	}
	t.Logf("the socket filled after %d events of 4 kB", sent)
}

// waitFor polls the metrics until one line holds want.
func waitFor(t *testing.T, f *fixture, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(Scrape(t, f.reg), want) {
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed %s:\n%s", want, Scrape(t, f.reg))
		}
		time.Sleep(10 * time.Millisecond) // polling an outside view, not synchronising
	}
}

// Closing the log ends every stream with a finished response: the hint,
// the last chunk, and a FIN (io.EOF on the raw socket, not a reset).
func TestCloseFinishesStreams(t *testing.T) { onBothPaths(t, testCloseFinishesStreams) }

func testCloseFinishesStreams(t *testing.T, p path) {
	f := newFixture(t, p, 100, Options{})
	PublishTestEvents(t, f.log, 3)
	s := f.openStream(t, "", nil)
	conn := f.rawStream(t)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw := NewReader(resp.Body)
	for _, r := range []*Reader{s.r, raw} {
		if ev, err := r.Next(); err != nil || ev.Name != "snapshot" {
			t.Fatalf("first event %s %v", ev.Name, err)
		}
	}
	f.log.Close()
	for _, r := range []*Reader{s.r, raw} {
		comments := r.Comments
		if ev, err := r.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("after close: %+v %v, want the end of the response", ev, err)
		}
		if r.Retry != 500 || r.Comments <= comments {
			t.Errorf("no shutdown hint: retry %d, %d comments", r.Retry, r.Comments-comments)
		}
	}
	// The chunked body ended; a hijacked connection ends with a FIN. (net/http
	// keeps its own open for another request until the server shuts down.)
	if p == hijacked {
		if _, err := io.Copy(io.Discard, br); err != nil {
			t.Errorf("after the response: %v, want a clean end of the connection", err)
		}
	}
	if err := f.hub.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// A ResponseWriter that hides the connection (as some middleware does)
// keeps the stream on net/http: the stream works the same.
func TestMiddlewareThatHidesTheConnection(t *testing.T) {
	t.Parallel()
	f := newFixture(t, hijacked, 100, Options{})
	f.srv.Config.Handler = hideConn(f.hub.SSEHandler())
	PublishTestEvents(t, f.log, 3)
	s := f.openStream(t, "?events=quote", nil)
	s.next(t)
	PublishTestEvents(t, f.log, 8)
	for range 6 {
		if ev := s.next(t); ev.Name != "quote" {
			t.Fatalf("%s", ev.Name)
		}
	}
	if n := f.hub.writers.served.Load(); n != 0 {
		t.Fatalf("%d streams hijacked through a writer that hides the connection", n)
	}
	f.streams = 0 // not hijacked, on purpose
}

// hideConn wraps every ResponseWriter in one that cannot hijack, flush
// aside.
func hideConn(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(hidden{w}, r)
	})
}

type hidden struct{ w http.ResponseWriter }

func (h hidden) Header() http.Header         { return h.w.Header() }
func (h hidden) Write(b []byte) (int, error) { return h.w.Write(b) }
func (h hidden) WriteHeader(code int)        { h.w.WriteHeader(code) }
func (h hidden) Flush()                      { h.w.(http.Flusher).Flush() }

// A client that closes its quiet hijacked stream is seen at once (nobody
// reads the socket, and no write would fail for an hour): its place is
// released, counted as client_gone, never as a failed write.
func TestClientThatLeavesIsReleased(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("hang-ups are watched with epoll; elsewhere they are seen at the next write")
	}
	t.Parallel()
	f := newFixture(t, hijacked, 100, Options{Heartbeat: time.Hour, MaxStreams: 1})
	PublishTestEvents(t, f.log, 3)
	for range 3 { // with -max-streams 1, each must be released for the next
		conn := f.rawStream(t)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		if ev, err := NewReader(resp.Body).Next(); err != nil || ev.Name != "snapshot" {
			t.Fatalf("first event %s %v", ev.Name, err)
		}
		conn.Close()
		waitFor(t, f, `tickertape_clients{transport="sse"} 0`)
	}
	body := Scrape(t, f.reg)
	if !strings.Contains(body, `tickertape_streams_dropped_total{cause="client_gone",transport="sse"} 3`) ||
		strings.Contains(body, `tickertape_streams_dropped_total{cause="write_`) {
		t.Errorf("clients that left were not counted as 3 client_gone, or were counted as failed writes:\n%s", body)
	}
}
