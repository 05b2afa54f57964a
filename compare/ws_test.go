package compare

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"tickertape/feed"
	"tickertape/market"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serverConfig is the server a test asks for.
type serverConfig struct {
	// Rate is the market's quote events per second; 0 runs no market: the
	// test publishes into Hub.Log().
	Rate           float64
	Symbols        string // as market.Config.Symbols; "" is the default universe
	Seed           int64
	Replay         int // resume buffer size; 0 is 10000
	MaxStreams     int
	Heartbeat      time.Duration
	AllowedOrigins []string // handed to /ws
}

// server is /events and /ws over one hub, on an httptest server: the two
// endpoints the parity tests hold side by side.
type server struct {
	URL string
	Hub *feed.Hub

	srv        *httptest.Server
	stopMarket context.CancelFunc
	marketErr  chan error
}

func newServer(cfg serverConfig) (*server, error) {
	// The market names the symbols even when it does not run.
	src, err := market.Open(market.Config{Rate: max(cfg.Rate, 1), Symbols: cfg.Symbols, Seed: cfg.Seed, Speed: 1})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, sym := range src.Symbols() {
		names = append(names, sym.Symbol)
	}
	log, err := feed.NewLog(names, cmp.Or(cfg.Replay, 10000), 0)
	if err != nil {
		return nil, err
	}
	hub := feed.NewHub(log, feed.Options{Metrics: feed.NewMetrics(prometheus.NewRegistry()),
		Logger: slog.New(slog.DiscardHandler), MaxStreams: cfg.MaxStreams, Heartbeat: cfg.Heartbeat})
	mux := http.NewServeMux()
	mux.Handle("GET /events", hub.SSEHandler())
	mux.Handle("GET /ws", Handler(hub, cfg.AllowedOrigins))
	s := &server{Hub: hub, srv: httptest.NewServer(mux), marketErr: make(chan error, 1)}
	s.URL = s.srv.URL
	ctx, stop := context.WithCancel(context.Background())
	s.stopMarket = stop
	if cfg.Rate > 0 {
		go func() { s.marketErr <- src.Run(ctx, log) }()
	} else {
		s.marketErr <- nil
	}
	return s, nil
}

// Close ends every stream (WebSockets with 1001), stops the server and the
// market, and waits for all of them.
func (s *server) Close() error {
	s.Hub.Log().Close() // as a shutting-down tickertape does first
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.Hub.Wait(ctx)
	s.srv.Close()
	s.stopMarket()
	if merr := <-s.marketErr; merr != nil && !errors.Is(merr, feed.ErrClosed) {
		err = errors.Join(err, merr)
	}
	return err
}

func startServer(t *testing.T, cfg serverConfig) *server {
	t.Helper()
	s, err := newServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the server: %v", err)
		}
	})
	return s
}

// ev is one event as either transport delivered it.
type ev struct {
	Name, ID, Data string
}

type sseClient struct {
	body io.ReadCloser
	r    *feed.Reader
}

func openSSE(t *testing.T, ctx context.Context, url string) *sseClient {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &sseClient{body: resp.Body, r: feed.NewReader(resp.Body)}
}

func (c *sseClient) next(t *testing.T) ev {
	t.Helper()
	e, err := c.r.Next()
	if err != nil {
		t.Fatalf("SSE: %v", err)
	}
	// The reader keeps the last id in force; a reset carries none of its own.
	if e.Name == feed.EventReset {
		e.ID = ""
	}
	return ev{e.Name, e.ID, e.Data}
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

func (c *wsClient) next(t *testing.T, ctx context.Context) ev {
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
	e := ev{Name: env.Event, Data: string(env.Data)}
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

func idOf(t *testing.T, e ev) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(e.ID, 10, 64)
	if err != nil {
		t.Fatalf("event %s has id %q", e.Name, e.ID)
	}
	return n
}

// TestParityLive opens an SSE and a WebSocket client together, with the
// same filter, on a live market, and checks that over the range both saw
// they got the same events: names, ids and data byte for byte.
func TestParityLive(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{Rate: 500, Seed: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	q := "?symbols=AAPL,MSFT,NVDA&events=quote,score,market"
	sse := openSSE(t, ctx, s.URL+"/events"+q)
	ws := openWS(t, ctx, wsURL(s.URL)+"/ws"+q, nil)

	s1, s2 := sse.next(t), ws.next(t, ctx)
	if s1.Name != feed.EventSnapshot || s2.Name != feed.EventSnapshot {
		t.Fatalf("first events: SSE %s, WS %s; want snapshot on both", s1.Name, s2.Name)
	}
	// A snapshot taken before the market's first event has no id.
	snapID := func(e ev) uint64 {
		if e.ID == "" {
			return 0
		}
		return idOf(t, e)
	}
	from := max(snapID(s1), snapID(s2))

	// SSE sets the range: 200 events past both snapshots.
	var a []ev
	for len(a) < 200 {
		e := sse.next(t)
		if idOf(t, e) > from {
			a = append(a, e)
		}
	}
	to := idOf(t, a[len(a)-1])
	var b []ev
	for {
		e := ws.next(t, ctx)
		id := idOf(t, e)
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
		if i > 0 && idOf(t, a[i]) <= idOf(t, a[i-1]) {
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
	s := startServer(t, serverConfig{Symbols: "AAPL,MSFT,IBM"})
	log := s.Hub.Log()
	publish(t, log, []string{"AAPL", "MSFT", "IBM"}, 30, 10)
	after := log.Newest() - 20
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := "?symbols=AAPL,IBM&lastEventId=" + strconv.FormatUint(after, 10)
	sse := openSSE(t, ctx, s.URL+"/events"+q)
	ws := openWS(t, ctx, wsURL(s.URL)+"/ws"+q, nil)
	var want []ev
	for i := range 20 {
		a, b := sse.next(t), ws.next(t, ctx)
		if a != b {
			t.Fatalf("event %d: SSE %+v, WS %+v", i, a, b)
		}
		if a.Name != "quote" || strings.Contains(a.Data, "MSFT") || idOf(t, a) <= after {
			t.Fatalf("event %d: %+v; want quotes of AAPL and IBM past %d", i, a, after)
		}
		want = append(want, a)
		if idOf(t, a) == log.Newest() {
			break
		}
	}
	if n := len(want); n != 13 && n != 14 {
		t.Errorf("resumed %d events; want the 13 or 14 AAPL/IBM quotes of the last 20", n)
	}
	// Live after the replay, on both.
	publish(t, log, []string{"IBM"}, 1, 0)
	a, b := sse.next(t), ws.next(t, ctx)
	if a != b || idOf(t, a) != log.Newest() {
		t.Fatalf("live event: SSE %+v, WS %+v; want id %d on both", a, b, log.Newest())
	}
}

// TestParityReset: an id the server cannot resume from gives both
// transports a reset with the same reason, then the same snapshot.
func TestParityReset(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{Symbols: "AAPL,MSFT", Replay: 16})
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
		sse := openSSE(t, ctx, s.URL+"/events"+q)
		ws := openWS(t, ctx, wsURL(s.URL)+"/ws"+q, nil)
		for i, name := range []string{feed.EventReset, feed.EventSnapshot} {
			a, b := sse.next(t), ws.next(t, ctx)
			if a != b {
				t.Fatalf("lastEventId=%s, event %d: SSE %+v, WS %+v", tc.last, i, a, b)
			}
			if a.Name != name {
				t.Fatalf("lastEventId=%s, event %d: %s; want %s", tc.last, i, a.Name, name)
			}
			if name == feed.EventReset && a.Data != `{"reason":"`+tc.reason+`"}` {
				t.Errorf("lastEventId=%s: reset %s; want reason %s", tc.last, a.Data, tc.reason)
			}
			if name == feed.EventSnapshot && idOf(t, a) != log.Newest() {
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
	s := startServer(t, serverConfig{Symbols: "AAPL,MSFT"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, q := range []string{"?symbols=AAPL,NOPE", "?events=quote,gossip", "?throttle=fast", "?colour=red"} {
		resp, err := http.Get(s.URL + "/events" + q)
		if err != nil {
			t.Fatal(err)
		}
		sseBody, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
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
		if string(sseBody) != string(wsBody) {
			t.Errorf("%s: bodies differ:\n/events %s/ws     %s", q, sseBody, wsBody)
		}
	}

	// A plain GET (no upgrade) with a good query: 426, JSON.
	resp, err := http.Get(s.URL + "/ws?symbols=AAPL")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired || !strings.Contains(string(body), `"error"`) {
		t.Errorf("plain GET /ws: %s %s; want 426 with a JSON error", resp.Status, body)
	}
}

func TestOrigin(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{Symbols: "AAPL", AllowedOrigins: []string{"https://app.example.com", "https://*.trusted.test"}})
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
	s := startServer(t, serverConfig{Symbols: "AAPL", Replay: 64})
	log := s.Hub.Log()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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
	find := func(next func() ev) {
		t.Helper()
		var last uint64
		for {
			e := next()
			if e.Name == feed.EventReset {
				if e.Data != `{"reason":"lapped"}` {
					t.Fatalf("reset %s; want lapped", e.Data)
				}
				if e = next(); e.Name != feed.EventSnapshot || idOf(t, e) <= last || idOf(t, e) > log.Newest() {
					t.Fatalf("after the reset: %s %s; want a snapshot newer than %d", e.Name, e.ID, last)
				}
				return
			}
			if last = idOf(t, e); last == log.Newest() {
				t.Fatal("read every event without a reset; the client was never lapped")
			}
		}
	}
	find(func() ev { return slowSSE.next(t) })
	find(func() ev { return slowWS.next(t, ctx) })
}

// TestPingAndShutdown: a quiet WebSocket is pinged; on shutdown it is
// closed with 1001, going away.
func TestPingAndShutdown(t *testing.T) {
	t.Parallel()
	s, err := newServer(serverConfig{Symbols: "AAPL", Heartbeat: 100 * time.Millisecond})
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
	s := startServer(t, serverConfig{Symbols: "AAPL", MaxStreams: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sse := openSSE(t, ctx, s.URL+"/events")
	if e := sse.next(t); e.Name != feed.EventSnapshot {
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
