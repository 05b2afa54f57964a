package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"tickertape/internal/sse"
)

// Every 405 says, in Allow, the methods its path takes, and each of those
// is served there (no 405 for it).
func TestMethodNotAllowedSaysAllow(t *testing.T) {
	t.Parallel()
	plain := startServer(t, nil)
	cors := startServer(t, nil, "-cors-origins", "https://good.example") // adds OPTIONS to the API's routes
	for _, tc := range []struct {
		s            *server
		method, path string
		allow        string
	}{
		{plain, "POST", "/events", "GET"},
		{plain, "DELETE", "/ws", "GET"},
		{plain, "DELETE", "/api/symbols", "GET"},
		{plain, "PUT", "/api/snapshot", "GET"},
		{plain, "GET", "/api/bench", "POST"},
		{plain, "POST", "/api/jobs/1/events", "GET"},
		{plain, "POST", "/metrics", "GET"},
		{plain, "POST", "/healthz", "GET, HEAD"},
		{plain, "POST", "/", "GET, HEAD"},
		{plain, "DELETE", "/watchlist/AAPL", "GET, HEAD"},
		{cors, "POST", "/events", "GET, OPTIONS"},
		{cors, "GET", "/api/bench", "POST, OPTIONS"},
	} {
		req, _ := http.NewRequest(tc.method, tc.s.url+tc.path, nil)
		resp, body := sse.Do(t, req)
		var e struct{ Error string }
		if resp.StatusCode != 405 || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
			t.Errorf("%s %s: %s %s, want 405 with a JSON error", tc.method, tc.path, resp.Status, body)
		}
		if got := resp.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
		for _, m := range strings.Split(tc.allow, ", ") {
			if m == "OPTIONS" || tc.path == "/api/bench" || tc.path == "/api/jobs/1/events" || tc.path == "/ws" || tc.path == "/events" {
				continue // not a plain request: a preflight, a run, a stream; their routes are tested elsewhere
			}
			req, _ := http.NewRequest(m, tc.s.url+tc.path, nil)
			if resp, _ := sse.Do(t, req); resp.StatusCode == 405 {
				t.Errorf("%s %s: 405, though a 405 there allowed it", m, tc.path)
			}
		}
	}
}

// /api/snapshot keeps the query rules and limits of /events: only symbols,
// at most -max-filter-symbols of them; events, throttle and lastEventId,
// which shape a stream, are refused with every other unknown parameter,
// in one error naming every bad value.
func TestSnapshotQueryRules(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, "-max-filter-symbols", "2")
	jsonErr := func(path string) map[string]any {
		t.Helper()
		resp, body := sse.Get(t, s.url+path)
		var e map[string]any
		if resp.StatusCode != 400 || json.Unmarshal([]byte(body), &e) != nil || e["error"] == "" {
			t.Fatalf("%s: %s %s, want 400 with a JSON error", path, resp.Status, body)
		}
		return e
	}
	names := func(v any) []string {
		var out []string
		list, _ := v.([]any)
		for _, x := range list {
			out = append(out, x.(string))
		}
		return out
	}
	for _, p := range []string{"events", "throttle", "lastEventId", "symbol"} {
		e := jsonErr("/api/snapshot?" + p + "=1")
		if got := names(e["unknownParams"]); !slices.Equal(got, []string{p}) {
			t.Errorf("?%s=1: unknownParams %v, want [%s]", p, got, p)
		}
	}
	e := jsonErr("/api/snapshot?symbols=AAPL,NOPE&throttle=1s&events=quote")
	if got := names(e["unknownParams"]); !slices.Equal(got, []string{"events", "throttle"}) || !slices.Equal(names(e["unknownSymbols"]), []string{"NOPE"}) {
		t.Errorf("two unknown parameters and an unknown symbol: %v; want all three named", e)
	}
	// The stream's limit, not twice the universe.
	for _, path := range []string{"/api/snapshot?symbols=AAPL,MSFT,NVDA", "/events?symbols=AAPL,MSFT,NVDA"} {
		if e := jsonErr(path); !strings.Contains(e["error"].(string), "at most 2") {
			t.Errorf("%s: %v, want the -max-filter-symbols limit named", path, e)
		}
	}
	resp, body := sse.Get(t, s.url+"/api/snapshot?symbols=AAPL,MSFT")
	var snap struct{ Quotes []struct{ Symbol string } }
	if json.Unmarshal([]byte(body), &snap); resp.StatusCode != 200 || len(snap.Quotes) != 2 {
		t.Errorf("/api/snapshot?symbols=AAPL,MSFT: %s %s", resp.Status, body)
	}
}

// /ws answers a broken handshake with the JSON error body, before the
// WebSocket library could in plain text, and counts it as a bad request.
func TestWSHandshakeErrorsAreJSON(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	upgrade := []string{"Connection", "Upgrade", "Upgrade", "websocket"}
	key := []string{"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}
	v13 := []string{"Sec-WebSocket-Version", "13"}
	cat := func(hs ...[]string) []string { return slices.Concat(hs...) }
	for _, tc := range []struct {
		name   string
		hdr    []string
		status int
		names  string // in the error
		header []string
	}{
		{"not an upgrade", nil, 426, "WebSocket", []string{"Upgrade", "websocket"}},
		{"no Upgrade: websocket", cat([]string{"Connection", "Upgrade"}, v13, key), 426, "WebSocket", []string{"Upgrade", "websocket"}},
		{"version 8", cat(upgrade, []string{"Sec-WebSocket-Version", "8"}, key), 400, "Sec-WebSocket-Version", []string{"Sec-WebSocket-Version", "13"}},
		{"no version", cat(upgrade, key), 400, "Sec-WebSocket-Version", []string{"Sec-WebSocket-Version", "13"}},
		{"no key", cat(upgrade, v13), 400, "Sec-WebSocket-Key", nil},
		{"two keys", cat(upgrade, v13, key, key), 400, "Sec-WebSocket-Key", nil},
		{"a short key", cat(upgrade, v13, []string{"Sec-WebSocket-Key", "c2hvcnQ="}), 400, "Sec-WebSocket-Key", nil},
		{"a key not in base64", cat(upgrade, v13, []string{"Sec-WebSocket-Key", "not base64 at all!"}), 400, "Sec-WebSocket-Key", nil},
	} {
		req, _ := http.NewRequest(http.MethodGet, s.url+"/ws", nil)
		for i := 0; i+1 < len(tc.hdr); i += 2 {
			req.Header.Add(tc.hdr[i], tc.hdr[i+1])
		}
		resp, body := sse.Do(t, req)
		var e struct{ Error string }
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
			json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, tc.names) {
			t.Errorf("%s: %s %q %s; want %d with a JSON error naming %s", tc.name, resp.Status, resp.Header.Get("Content-Type"), body, tc.status, tc.names)
		}
		if tc.header != nil && resp.Header.Get(tc.header[0]) != tc.header[1] {
			t.Errorf("%s: %s: %q, want %q", tc.name, tc.header[0], resp.Header.Get(tc.header[0]), tc.header[1])
		}
	}
	if v := metric(t, s.url, `tickertape_rejected_total{limit="bad_request"}`); v != 8 {
		t.Errorf("rejected{bad_request} %v after 8 broken handshakes", v)
	}
	// And the handshake a client sends is taken.
	req, _ := http.NewRequest(http.MethodGet, s.url+"/ws", nil)
	for _, h := range [][]string{upgrade[:2], upgrade[2:], v13, key} {
		req.Header.Set(h[0], h[1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Errorf("a good handshake: %s, want 101", resp.Status)
	}
}
