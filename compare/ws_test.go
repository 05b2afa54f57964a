package compare_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"tickertape/feed"
	"tickertape/internal/sse"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sseClient reads /events as the parity tests hold it beside /ws.
type sseClient struct{ c *sse.Client }

func openSSE(t *testing.T, ctx context.Context, url string) *sseClient {
	t.Helper()
	return &sseClient{sse.OpenContext(t, ctx, nil, url)}
}

func (c *sseClient) next(t *testing.T) feed.Event {
	t.Helper()
	e := c.c.Next(t)
	// The reader keeps the last id in force; a reset carries none of its own.
	if e.Name == feed.EventReset {
		e.ID = ""
	}
	return e
}

type wsClient struct {
	c *websocket.Conn
}

func openWS(t *testing.T, ctx context.Context, url string, opts *websocket.DialOptions) *wsClient {
	t.Helper()
	c, resp, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		status := ""
		if resp != nil {
			status = resp.Status
		}
		t.Fatalf("dial %s: %s %v", url, status, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return &wsClient{c: c}
}

func (c *wsClient) next(t *testing.T, ctx context.Context) feed.Event {
	t.Helper()
	typ, b, err := c.c.Read(ctx)
	if err != nil {
		t.Fatalf("WS: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("WS: message type %v, want text", typ)
	}
	var env struct {
		Event string          `json:"event"`
		ID    *string         `json:"id"`
		Data  json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("WS: message %q: %v", b, err)
	}
	e := feed.Event{Name: env.Event, Data: string(env.Data)}
	if env.ID != nil {
		e.ID = *env.ID
		if e.ID == "" {
			t.Fatalf("WS: empty id key in %s", b)
		}
	}
	if e.Name == feed.EventReset && env.ID != nil {
		t.Fatalf("WS: a reset with an id: %s", b)
	}
	return e
}

func wsURL(base string) string { return "ws" + strings.TrimPrefix(base, "http") }

// TestParityLive opens an SSE and a WebSocket client together, with the
// same filter, on a live market, and checks that over the range both saw
// they got the same events: names, ids and data byte for byte.
func TestParityLive(t *testing.T) {
	t.Parallel()
	s := sse.StartServer(t, sse.Config{Rate: 500, Seed: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	q := "?symbols=AAPL,MSFT,NVDA&events=quote,score,market"
	es := openSSE(t, ctx, s.URL+"/events"+q)
	ws := openWS(t, ctx, wsURL(s.URL)+"/ws"+q, nil)

	s1, s2 := es.next(t), ws.next(t, ctx)
	if s1.Name != feed.EventSnapshot || s2.Name != feed.EventSnapshot {
		t.Fatalf("first events: SSE %s, WS %s; want snapshot on both", s1.Name, s2.Name)
	}
	// A snapshot taken before the market's first event has no id.
	snapID := func(e feed.Event) uint64 {
		if e.ID == "" {
			return 0
		}
		return sse.ID(t, e)
	}
	from := max(snapID(s1), snapID(s2))

	// SSE sets the range: 200 events past both snapshots.
	var a []feed.Event
	for len(a) < 200 {
		e := es.next(t)
		if sse.ID(t, e) > from {
			a = append(a, e)
		}
	}
	to := sse.ID(t, a[len(a)-1])
	var b []feed.Event
	for {
		e := ws.next(t, ctx)
		id := sse.ID(t, e)
		if id > from {
			b = append(b, e)
		}
		if id >= to {
			break
		}
	}
	if len(a) != len(b) {
		t.Fatalf("ids %d..%d: SSE got %d events, WS %d", from+1, to, len(a), len(b))
	}
	kinds := map[string]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("event %d differs:\nSSE %+v\nWS  %+v", i, a[i], b[i])
		}
		kinds[a[i].Name]++
		if i > 0 && sse.ID(t, a[i]) <= sse.ID(t, a[i-1]) {
			t.Fatalf("ids not increasing: %s then %s", a[i-1].ID, a[i].ID)
		}
	}
	if kinds["quote"] == 0 || kinds["score"] == 0 {
		t.Errorf("the range holds %v; want quotes and scores", kinds)
	}
}

type pad struct {
	Symbol string `json:"symbol"`
	N      int    `json:"n"`
	Pad    string `json:"pad,omitempty"`
}

// publish appends n quotes, round robin over syms, with data of about
// size bytes, and returns the id of the first.
func publish(t *testing.T, log *feed.Log, syms []string, n, size int) uint64 {
	t.Helper()
	first := log.Newest() + 1
	if log.Newest() == 0 {
		first = 0
	}
	p := strings.Repeat("x", size)
	for i := range n {
		sym := syms[i%len(syms)]
		if err := log.Publish("quote", sym, pad{Symbol: sym, N: i, Pad: p}); err != nil {
			t.Fatal(err)
		}
	}
	return first
}

// TestParityResume: a resume from an id in the buffer gives both
// transports every matching event past it, no snapshot, the same bytes.
func TestParityResume(t *testing.T) {
	t.Parallel()
	s := sse.StartServer(t, sse.Config{Symbols: "AAPL,MSFT,IBM"})
	log := s.Hub.Log()
	publish(t, log, []string{"AAPL", "MSFT", "IBM"}, 30, 10)
	after := log.Newest() - 20
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := "?symbols=AAPL,IBM&lastEventId=" + strconv.FormatUint(after, 10)
	es := openSSE(t, ctx, s.URL+"/events"+q)
	ws := openWS(t, ctx, wsURL(s.URL)+"/ws"+q, nil)
	var want []feed.Event
	for i := range 20 {
		a, b := es.next(t), ws.next(t, ctx)
		if a != b {
			t.Fatalf("event %d: SSE %+v, WS %+v", i, a, b)
		}
		if a.Name != "quote" || strings.Contains(a.Data, "MSFT") || sse.ID(t, a) <= after {
			t.Fatalf("event %d: %+v; want quotes of AAPL and IBM past %d", i, a, after)
		}
		want = append(want, a)
		if sse.ID(t, a) == log.Newest() {
			break
		}
	}
	if n := len(want); n != 13 && n != 14 {
		t.Errorf("resumed %d events; want the 13 or 14 AAPL/IBM quotes of the last 20", n)
	}
	// Live after the replay, on both.
	publish(t, log, []string{"IBM"}, 1, 0)
	a, b := es.next(t), ws.next(t, ctx)
	if a != b || sse.ID(t, a) != log.Newest() {
		t.Fatalf("live event: SSE %+v, WS %+v; want id %d on both", a, b, log.Newest())
	}
}

// TestParityReset: an id the server cannot resume from gives both
// transports a reset with the same reason, then the same snapshot.
func TestParityReset(t *testing.T) {
	t.Parallel()
	s := sse.StartServer(t, sse.Config{Symbols: "AAPL,MSFT", Replay: 16})
	log := s.Hub.Log()
	publish(t, log, []string{"AAPL", "MSFT"}, 40, 0)
	for _, tc := range []struct{ last, reason string }{
		{"banana", "bad_id"},
		{"1", "too_old"},
		{strconv.FormatUint(log.Newest()-30, 10), "too_old"},
		{strconv.FormatUint(log.Newest()+5, 10), "future"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		q := "?lastEventId=" + tc.last
		es := openSSE(t, ctx, s.URL+"/events"+q)
		ws := openWS(t, ctx, wsURL(s.URL)+"/ws"+q, nil)
		for i, name := range []string{feed.EventReset, feed.EventSnapshot} {
			a, b := es.next(t), ws.next(t, ctx)
			if a != b {
				t.Fatalf("lastEventId=%s, event %d: SSE %+v, WS %+v", tc.last, i, a, b)
			}
			if a.Name != name {
				t.Fatalf("lastEventId=%s, event %d: %s; want %s", tc.last, i, a.Name, name)
			}
			if name == feed.EventReset && a.Data != `{"reason":"`+tc.reason+`"}` {
				t.Errorf("lastEventId=%s: reset %s; want reason %s", tc.last, a.Data, tc.reason)
			}
			if name == feed.EventSnapshot && sse.ID(t, a) != log.Newest() {
				t.Errorf("lastEventId=%s: snapshot id %s; want %d", tc.last, a.ID, log.Newest())
			}
		}
		cancel()
	}
}

// TestErrorsBeforeUpgrade: a bad query gets the very same 400 on both
// endpoints, as JSON, and no WebSocket.
func TestErrorsBeforeUpgrade(t *testing.T) {
	t.Parallel()
	s := sse.StartServer(t, sse.Config{Symbols: "AAPL,MSFT"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, q := range []string{"?symbols=AAPL,NOPE", "?events=quote,gossip", "?throttle=fast", "?colour=red"} {
		resp, sseBody := sse.Get(t, s.URL+"/events"+q)
		_, wresp, err := websocket.Dial(ctx, wsURL(s.URL)+"/ws"+q, nil)
		if err == nil {
			t.Fatalf("%s: the WebSocket was accepted", q)
		}
		if wresp == nil {
			t.Fatalf("%s: no response: %v", q, err)
		}
		wsBody, _ := io.ReadAll(wresp.Body)
		if resp.StatusCode != 400 || wresp.StatusCode != 400 {
			t.Errorf("%s: /events %d, /ws %d; want 400 on both", q, resp.StatusCode, wresp.StatusCode)
		}
		if ct := wresp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: /ws Content-Type %q; want JSON", q, ct)
		}
		if sseBody != string(wsBody) {
			t.Errorf("%s: bodies differ:\n/events %s/ws     %s", q, sseBody, wsBody)
		}
	}

	// A plain GET (no upgrade) with a good query: 426, JSON.
	resp, body := sse.Get(t, s.URL+"/ws?symbols=AAPL")
	if resp.StatusCode != http.StatusUpgradeRequired || !strings.Contains(body, `"error"`) {
		t.Errorf("plain GET /ws: %s %s; want 426 with a JSON error", resp.Status, body)
	}
}

func TestOrigin(t *testing.T) {
	t.Parallel()
	s := sse.StartServer(t, sse.Config{Symbols: "AAPL", AllowedOrigins: []string{"https://app.example.com", "https://*.trusted.test"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dial := func(origin string) (int, error) {
		c, resp, err := websocket.Dial(ctx, wsURL(s.URL)+"/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
		if err == nil {
			c.CloseNow()
			return 101, nil
		}
		if resp == nil {
			return 0, err
		}
		return resp.StatusCode, err
	}
	for origin, want := range map[string]int{
		"https://evil.example":      403,
		"http://app.example.com":    403, // the scheme counts
		"https://app.example.com":   101,
		"https://a.trusted.test":    101,
		s.URL:                       101, // same origin
		"null":                      403,
		"https://trusted.test.evil": 403,
	} {
		if got, err := dial(origin); got != want {
			t.Errorf("Origin %s: %d (%v); want %d", origin, got, err, want)
		}
	}
}

// TestSlowClient: a WebSocket client that stops reading is lapped like an
// SSE one, and told so with a reset and a snapshot; it holds back nobody.
func TestSlowClient(t *testing.T) {
	t.Parallel()
	// A write may block while the test publishes 20 MB, which takes long
	// under -race on a loaded machine: the client must be lapped, not cut
	// at the write deadline.
	s := sse.StartServer(t, sse.Config{Symbols: "AAPL", Replay: 64, WriteTimeout: 2 * time.Minute})
	log := s.Hub.Log()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	slowSSE := openSSE(t, ctx, s.URL+"/events")
	slowWS := openWS(t, ctx, wsURL(s.URL)+"/ws", nil)
	slowWS.c.SetReadLimit(1 << 20)
	if e := slowSSE.next(t); e.Name != feed.EventSnapshot {
		t.Fatalf("SSE first event %s", e.Name)
	}
	if e := slowWS.next(t, ctx); e.Name != feed.EventSnapshot {
		t.Fatalf("WS first event %s", e.Name)
	}
	// 5000 events of 4 kB: far more than the socket buffers hold while
	// neither client reads, so both writers fall more than 64 events behind.
	publish(t, log, []string{"AAPL"}, 5000, 4000)
	find := func(next func() feed.Event) {
		t.Helper()
		var last uint64
		for {
			e := next()
			if e.Name == feed.EventReset {
				if e.Data != `{"reason":"lapped"}` {
					t.Fatalf("reset %s; want lapped", e.Data)
				}
				if e = next(); e.Name != feed.EventSnapshot || sse.ID(t, e) <= last || sse.ID(t, e) > log.Newest() {
					t.Fatalf("after the reset: %s %s; want a snapshot newer than %d", e.Name, e.ID, last)
				}
				return
			}
			if last = sse.ID(t, e); last == log.Newest() {
				t.Fatal("read every event without a reset; the client was never lapped")
			}
		}
	}
	find(func() feed.Event { return slowSSE.next(t) })
	find(func() feed.Event { return slowWS.next(t, ctx) })
}

// TestPingAndShutdown: a quiet WebSocket is pinged; on shutdown it is
// closed with 1001, going away.
func TestPingAndShutdown(t *testing.T) {
	t.Parallel()
	s, err := sse.NewServer(sse.Config{Symbols: "AAPL", Heartbeat: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pinged := make(chan struct{}, 1)
	ws := openWS(t, ctx, wsURL(s.URL)+"/ws", &websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return true
	}})
	if e := ws.next(t, ctx); e.Name != feed.EventSnapshot {
		t.Fatalf("first event %s", e.Name)
	}
	readErr := make(chan error, 1)
	go func() {
		_, _, err := ws.c.Read(ctx) // answers pings while it waits
		readErr <- err
	}()
	select {
	case <-pinged:
	case <-ctx.Done():
		t.Fatal("no ping on a quiet stream")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	err = <-readErr
	if st := websocket.CloseStatus(err); st != websocket.StatusGoingAway {
		t.Fatalf("read after shutdown: %v (status %d); want close 1001", err, st)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("timed out")
	}
}

// TestMaxStreams: the limit counts both transports, and /ws answers 503
// with Retry-After before the upgrade, as /events does.
func TestMaxStreams(t *testing.T) {
	t.Parallel()
	s := sse.StartServer(t, sse.Config{Symbols: "AAPL", MaxStreams: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	es := openSSE(t, ctx, s.URL+"/events")
	if e := es.next(t); e.Name != feed.EventSnapshot {
		t.Fatalf("first event %s", e.Name)
	}
	_, resp, err := websocket.Dial(ctx, wsURL(s.URL)+"/ws", nil)
	if err == nil || resp == nil {
		t.Fatalf("a second stream past -max-streams 1 was accepted (%v)", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), `"error"`) {
		t.Errorf("/ws past the limit: %d, Retry-After %q, %s; want 503 with Retry-After and a JSON error",
			resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}
