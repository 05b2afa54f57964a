package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"tickertape/internal/sse"
)

// post sends POST /api/bench with a body, a Content-Type and an Origin
// ("" for none) and returns the status and the JSON body.
func postBench(t *testing.T, base, contentType, origin, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/api/bench", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, text := sse.Do(t, req)
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("POST /api/bench (%s, Origin %q, %q): %s %q %s: want a JSON answer", contentType, origin, body, resp.Status, resp.Header.Get("Content-Type"), text)
	}
	return resp.StatusCode, m
}

// The bench's job API is the dashboard's alone: a request a stranger's
// page can send without a preflight (a form's or text/plain body, from
// another Origin) or an empty body starts nothing; the dashboard's own
// request, and curl's (no Origin), do; -bench-api=false turns it off.
// Not parallel: it starts runs, which TestShutdownWaitsForBenchJob must
// not see.
func TestBenchAPIForTheDashboardOnly(t *testing.T) {
	s := startServer(t, nil, "-cors-origins", "https://good.example")
	const run = `{"clients":1,"duration":"1s","rate":10,"transports":["sse"]}`
	for _, tc := range []struct {
		contentType, origin, body string
		status                    int
	}{
		{"text/plain", "https://evil.example", run, http.StatusForbidden}, // a simple cross-origin request: no preflight
		{"application/x-www-form-urlencoded", "https://evil.example", run, http.StatusForbidden},
		{"application/json", "https://evil.example", run, http.StatusForbidden}, // (a browser would preflight it, and fail)
		{"application/json", "null", run, http.StatusForbidden},
		{"text/plain", s.url, run, http.StatusUnsupportedMediaType},
		{"", "", run, http.StatusUnsupportedMediaType},
		{"application/json", s.url, "", http.StatusBadRequest},
		{"application/json", "", "", http.StatusBadRequest},
	} {
		code, m := postBench(t, s.url, tc.contentType, tc.origin, tc.body)
		if code != tc.status || m["error"] == "" {
			t.Errorf("POST (%s, Origin %q, %q): %d %v, want %d with an error", tc.contentType, tc.origin, tc.body, code, m, tc.status)
		}
	}
	// None of them started a job: the first one to start is job 1.
	for _, origin := range []string{s.url, "https://good.example", ""} { // the dashboard, an allowed origin, curl
		code, m := postBench(t, s.url, "application/json; charset=utf-8", origin, run)
		if code != http.StatusAccepted {
			t.Fatalf("POST from Origin %q: %d %v, want 202", origin, code, m)
		}
		if origin == s.url && m["job"] != "1" {
			t.Errorf("the dashboard's run is job %v: the refused requests started runs", m["job"])
		}
		follow(t, s.url, m["job"].(string))
	}
	// A preflight from an allowed origin passes; from another, it does not.
	for origin, ok := range map[string]bool{"https://good.example": true, "https://evil.example": false} {
		req, _ := http.NewRequest(http.MethodOptions, s.url+"/api/bench", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, _ := sse.Do(t, req)
		if got := resp.Header.Get("Access-Control-Allow-Origin") == origin; got != ok {
			t.Errorf("preflight from %s: %s, Access-Control-Allow-Origin %q", origin, resp.Status, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}

	off := startServer(t, nil, "-bench-api=false")
	if code, m := postBench(t, off.url, "application/json", "", run); code != http.StatusNotFound || !strings.Contains(m["error"].(string), "-bench-api") {
		t.Errorf("-bench-api=false: POST %d %v, want a 404 naming -bench-api", code, m)
	}
	resp, body := sse.Get(t, off.url+"/api/jobs/1/events")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "-bench-api") {
		t.Errorf("-bench-api=false: GET /api/jobs/1/events %s %s, want a 404 naming -bench-api", resp.Status, body)
	}
}

// follow reads a job's progress stream to its end, done or failed.
func follow(t *testing.T, base, job string) {
	t.Helper()
	c := sse.Open(t, nil, base+"/api/jobs/"+job+"/events")
	for {
		ev := c.Next(t)
		if strings.Contains(ev.Data, `"status":"done"`) {
			return
		}
		if strings.Contains(ev.Data, `"status":"failed"`) {
			t.Fatalf("job %s: %s", job, ev.Data)
		}
	}
}
