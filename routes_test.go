package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tickertape/internal/sse"
)

func TestEventsEndToEnd(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, "-rate", "200", "-seed", "7")
	c := sse.Open(t, nil, s.url+"/events")
	snap := c.Next(t)
	if snap.Name != "snapshot" || c.Reader.Retry <= 0 {
		t.Fatalf("first event %q (retry %d), want a snapshot after retry:", snap.Name, c.Reader.Retry)
	}
	var sd struct {
		Quotes []map[string]any `json:"quotes"`
		Scores []map[string]any `json:"scores"`
		Market map[string]any   `json:"market"`
	}
	if err := json.Unmarshal([]byte(snap.Data), &sd); err != nil {
		t.Fatal(err)
	}
	_, symbols := sse.Get(t, s.url+"/api/symbols")
	var syms []map[string]any
	json.Unmarshal([]byte(symbols), &syms)
	if len(syms) < 40 || len(sd.Quotes) != len(syms) || len(sd.Scores) != len(syms) || sd.Market == nil {
		t.Fatalf("snapshot has %d quotes, %d scores, market %v for %d symbols", len(sd.Quotes), len(sd.Scores), sd.Market, len(syms))
	}
	prev := sse.ID(t, snap)
	names := map[string]int{}
	for len(names) < 3 || names["quote"] < 50 {
		ev := c.Next(t)
		id := sse.ID(t, ev)
		if id != prev+1 {
			t.Fatalf("%s id %q after %d: an unfiltered stream runs without a gap", ev.Name, ev.ID, prev)
		}
		prev = id
		names[ev.Name]++
		var data map[string]any
		if err := json.Unmarshal([]byte(ev.Data), &data); err != nil {
			t.Fatalf("%s data %q: %v", ev.Name, ev.Data, err)
		}
		if _, ok := data["ts"].(float64); !ok {
			t.Fatalf("%s without a numeric ts: %s", ev.Name, ev.Data)
		}
		if ev.Name == "quote" {
			for _, f := range []string{"price", "bid", "ask", "open", "high", "low", "prevClose", "change", "changePct", "volume"} {
				if _, ok := data[f].(float64); !ok {
					t.Fatalf("quote field %s is not a number: %s", f, ev.Data)
				}
			}
			if _, ok := data["symbol"].(string); !ok {
				t.Fatalf("quote without symbol: %s", ev.Data)
			}
		}
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	jsonErr := func(t *testing.T, resp *http.Response, body string, status int) {
		t.Helper()
		var e map[string]any
		if resp.StatusCode != status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
			json.Unmarshal([]byte(body), &e) != nil || e["error"] == "" {
			t.Errorf("%s %s: %s %q %s, want %d with a JSON error", resp.Request.Method, resp.Request.URL.Path, resp.Status, resp.Header.Get("Content-Type"), body, status)
		}
	}
	for _, p := range []string{"/api/nope", "/api", "/events/x", "/ws/x", "/metrics/x", "/api/symbols/AAPL"} {
		resp, body := sse.Get(t, s.url+p)
		jsonErr(t, resp, body, 404)
	}
	for _, m := range []struct{ method, path string }{{"POST", "/events"}, {"DELETE", "/api/symbols"}, {"PUT", "/api/snapshot"}, {"POST", "/metrics"}, {"POST", "/"}} {
		req, _ := http.NewRequest(m.method, s.url+m.path, nil)
		resp, body := sse.Do(t, req)
		jsonErr(t, resp, body, 405)
	}
	resp, body := sse.Get(t, s.url+"/api/snapshot?symbols=AAPL,NOPE")
	jsonErr(t, resp, body, 400)
	if !strings.Contains(body, "NOPE") {
		t.Errorf("400 does not name the unknown symbol: %s", body)
	}
	resp, body = sse.Get(t, s.url+"/api/snapshot?symbols=AAPL")
	var snap struct{ Quotes []struct{ Symbol string } }
	if json.Unmarshal([]byte(body), &snap); resp.StatusCode != 200 || len(snap.Quotes) != 1 || snap.Quotes[0].Symbol != "AAPL" {
		t.Errorf("/api/snapshot?symbols=AAPL: %s %s", resp.Status, body)
	}
	if resp, body := sse.Get(t, s.url+"/healthz"); resp.StatusCode != 200 || body != "ok" {
		t.Errorf("/healthz: %s %q", resp.Status, body)
	}
	if _, body := sse.Get(t, s.url+"/metrics"); !strings.Contains(body, `tickertape_clients{transport="sse"}`) ||
		!strings.Contains(body, "tickertape_replay_total") || !strings.Contains(body, "tickertape_resets_total") ||
		!strings.Contains(body, "tickertape_events_sent_total") {
		t.Errorf("/metrics lacks API.md's series")
	}

	// The dashboard, its routes, and its caching.
	index, indexBody := sse.Get(t, s.url+"/")
	if index.StatusCode != 200 || !strings.HasPrefix(index.Header.Get("Content-Type"), "text/html") ||
		index.Header.Get("ETag") == "" || index.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("/: %s %v", index.Status, index.Header)
	}
	for _, p := range []string{"/watchlist/AAPL", "/compare", "/apifoo"} {
		resp, body := sse.Get(t, s.url+p)
		if resp.StatusCode != 200 || body != indexBody {
			t.Errorf("%s: %s, want the dashboard (SPA fallback)", p, resp.Status)
		}
	}
	if resp, _ := sse.Get(t, s.url+"/assets/missing.js"); resp.StatusCode != 404 {
		t.Errorf("/assets/missing.js: %s, want 404 (no fallback for files)", resp.Status)
	}
	if resp, _ := sse.Get(t, s.url+"/", "If-None-Match", index.Header.Get("ETag")); resp.StatusCode != 304 {
		t.Errorf("revalidating /: %s, want 304", resp.Status)
	}
	asset := ""
	for _, f := range strings.Split(indexBody, `"`) {
		if strings.HasPrefix(f, "/assets/") && strings.HasSuffix(f, ".js") {
			asset = f
			break
		}
	}
	if asset == "" {
		t.Fatalf("index.html names no /assets/*.js: %s", indexBody)
	}
	resp, plain := sse.Get(t, s.url+asset)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("%s: %s %q, want immutable caching", asset, resp.Status, resp.Header.Get("Cache-Control"))
	}
	// With nosniff, a browser runs a script or applies a style sheet only
	// when its Content-Type says so.
	for ext, want := range map[string]string{".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"} {
		for _, f := range strings.Split(indexBody, `"`) {
			if !strings.HasPrefix(f, "/") || !strings.HasSuffix(f, ext) {
				continue
			}
			if resp, _ := sse.Get(t, s.url+f); resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), want) {
				t.Errorf("%s: %s %q, want %s", f, resp.Status, resp.Header.Get("Content-Type"), want)
			}
		}
	}
	for _, enc := range []struct{ accept, want string }{{"gzip", "gzip"}, {"gzip, deflate, br", "br"}, {"br;q=0, gzip", "gzip"}} {
		resp, zipped := sse.Get(t, s.url+asset, "Accept-Encoding", enc.accept)
		if resp.Header.Get("Content-Encoding") != enc.want || resp.Header.Get("Vary") != "Accept-Encoding" || len(zipped) >= len(plain) {
			t.Errorf("%s with Accept-Encoding: %s: %q %q, %d bytes of %d", asset, enc.accept, resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"), len(zipped), len(plain))
		}
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	closed := startServer(t, nil)
	resp, _ := sse.Get(t, closed.url+"/api/symbols", "Origin", "https://elsewhere.example")
	if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("no origins configured, yet Access-Control-Allow-Origin: %q", v)
	}

	open := startServer(t, map[string]string{"TICKERTAPE_CORS_ORIGINS": "https://good.example"})
	resp, _ = sse.Get(t, open.url+"/api/symbols", "Origin", "https://good.example")
	if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "https://good.example" {
		t.Errorf("allowed origin got Access-Control-Allow-Origin %q", v)
	}
	resp, _ = sse.Get(t, open.url+"/api/symbols", "Origin", "https://evil.example")
	if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("other origin got Access-Control-Allow-Origin %q", v)
	}
	// A cross-origin resume sends Last-Event-ID, which needs a preflight.
	req, _ := http.NewRequest(http.MethodOptions, open.url+"/events", nil)
	req.Header.Set("Origin", "https://good.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "last-event-id")
	resp, _ = sse.Do(t, req)
	if resp.StatusCode >= 300 || resp.Header.Get("Access-Control-Allow-Origin") != "https://good.example" ||
		!strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "last-event-id") {
		t.Errorf("preflight: %s %v", resp.Status, resp.Header)
	}
	c := sse.Open(t, nil, open.url+"/events", "Origin", "https://good.example")
	if v := c.Response.Header.Get("Access-Control-Allow-Origin"); v != "https://good.example" {
		t.Errorf("/events to an allowed origin: Access-Control-Allow-Origin %q", v)
	}
}

func TestFlagsAndEnvironment(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"TICKERTAPE_RATE": "fast"}, nil, "TICKERTAPE_RATE"},
		{nil, []string{"-replay", "0"}, "-replay"},
		{nil, []string{"-tls-cert", "x.pem"}, "-tls-key"},
		{nil, []string{"-symbols", "NOT A SYMBOL!"}, "symbol"},
		{nil, []string{"-speed", "-1"}, "-speed: market: speed -1"}, // the market names the field, main the flag
		{nil, []string{"-source", "file:testdata/small.jsonl", "-symbols", "AAPL"}, "-symbols"},
		{nil, []string{"serve"}, "unexpected argument"},
		{nil, []string{"-addr", "127.0.0.1:99999"}, "listen"},
		{nil, []string{"-tls-cert", "/nonexistent.pem", "-tls-key", "/nonexistent.key"}, "-tls-cert/-tls-key"},
	} {
		err := run(t.Context(), tc.args, func(k string) string { return tc.env[k] }, io_discard{}, io_discard{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: error %v, want one naming %s", tc.env, tc.args, err, tc.want)
		}
	}
	// The flag wins over the environment.
	c, err := parseConfig([]string{"-rate", "7"}, func(k string) string {
		return map[string]string{"TICKERTAPE_RATE": "99", "TICKERTAPE_HEARTBEAT": "2s"}[k]
	}, io_discard{})
	if err != nil || c.market.Rate != 7 || c.heartbeat.String() != "2s" {
		t.Errorf("config %+v, %v: want rate 7 from the flag and heartbeat 2s from the environment", c, err)
	}
}

type io_discard struct{}

func (io_discard) Write(p []byte) (int, error) { return len(p), nil }

// A file source that runs out leaves the server serving its last state;
// a recording of the live stream plays back through the same server.
func TestFileSourceAndRecording(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, "-source", "file:testdata/small.csv", "-speed", "0")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(s.stderr.String(), "market source ended") {
		if time.Now().After(deadline) {
			t.Fatalf("the file never ended: %s", s.stderr)
		}
		time.Sleep(10 * time.Millisecond) // polling a log, not synchronising
	}
	resp, body := sse.Get(t, s.url+"/api/snapshot")
	var snap struct{ Quotes []map[string]any }
	if json.Unmarshal([]byte(body), &snap); resp.StatusCode != 200 || len(snap.Quotes) == 0 {
		t.Fatalf("after the file ended: %s %s", resp.Status, body)
	}
	c := sse.Open(t, nil, s.url+"/events")
	if ev := c.Next(t); ev.Name != "snapshot" {
		t.Fatalf("first event %s", ev.Name)
	}

	rec := filepath.Join(t.TempDir(), "rec.jsonl")
	live := startServer(t, nil, "-rate", "300", "-record", rec)
	lc := sse.Open(t, nil, live.url+"/events?events=quote")
	lc.Next(t)
	var quotes []string
	for range 20 {
		quotes = append(quotes, lc.Next(t).Data)
	}
	if err := live.stop(t); err != nil {
		t.Fatal(err)
	}
	play := startServer(t, nil, "-source", "file:"+rec, "-speed", "0")
	resp, body = sse.Get(t, play.url+"/api/symbols")
	if resp.StatusCode != 200 || !strings.Contains(body, "AAPL") {
		t.Fatalf("playing the recording: %s %s", resp.Status, body)
	}
	recorded, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range quotes {
		if !strings.Contains(string(recorded), `"data":`+q) {
			t.Fatalf("the recording lacks a quote the stream sent: %s", q)
		}
	}
}
