package bench

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"tickertape/internal/sse"
)

func jobsServer(t *testing.T) (*Jobs, *httptest.Server) {
	t.Helper()
	done := make(chan struct{})
	jobs := NewJobs(JobsOptions{Done: done, Symbols: "8", Logger: discard(), Server: startServer})
	mux := http.NewServeMux()
	mux.Handle("POST /api/bench", jobs.StartHandler())
	mux.Handle("GET /api/jobs/{id}/events", jobs.EventsHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		close(done)
		jobs.Close()
		srv.Close()
	})
	return jobs, srv
}

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url+"/api/bench", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("POST %s: %s, body not JSON: %v", body, resp.Status, err)
	}
	return resp.StatusCode, m
}

// TestJobs: a run started over HTTP streams progress events in order,
// ending with done and a result; a second start meanwhile gets 409.
func TestJobs(t *testing.T) {
	t.Parallel()
	_, srv := jobsServer(t)
	code, m := post(t, srv.URL, `{"clients":2,"duration":"1s","rate":200,"transports":["sse","ws"]}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %v; want 202", code, m)
	}
	job, _ := m["job"].(string)
	if job == "" {
		t.Fatalf("POST: %v; want a job id", m)
	}
	if code, m := post(t, srv.URL, `{"clients":1,"duration":"1s"}`); code != http.StatusConflict || m["job"] != job {
		t.Errorf("second POST while running: %d %v; want 409 naming job %s", code, m, job)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	events := srv.URL + "/api/jobs/" + job + "/events"
	c := sse.OpenContext(t, ctx, nil, events)
	if ct := c.Response.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("GET events: %s %s", c.Response.Status, ct)
	}
	r := c.Reader
	var last progressEvent
	lastID, lastCompletion := 0, -1.0
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.Name != "progress" {
			t.Fatalf("event %q; want progress", e.Name)
		}
		id := int(sse.ID(t, e))
		if id != lastID+1 {
			t.Fatalf("event id %q after %d; want %d", e.ID, lastID, lastID+1)
		}
		lastID = id
		var p progressEvent
		if err := json.Unmarshal([]byte(e.Data), &p); err != nil {
			t.Fatalf("progress data %s: %v", e.Data, err)
		}
		if p.Job != job || p.Completion < lastCompletion || p.Completion > 100 {
			t.Fatalf("progress %s after completion %v", e.Data, lastCompletion)
		}
		if last.Status != "" && last.Status != "in_progress" {
			t.Fatalf("an event after %s: %s", last.Status, e.Data)
		}
		lastCompletion, last = p.Completion, p
	}
	if last.Status != "done" || last.Completion != 100 || last.Result == nil {
		t.Fatalf("last progress %+v; want done at 100 with a result", last)
	}
	if n := len(last.Result.Transports); n != 2 || last.Result.Transports[0].ClientsHeld != 2 || last.Result.Transports[1].EventsPerSec <= 0 {
		t.Errorf("result %+v", last.Result)
	}
	if lastID < 4 {
		t.Errorf("only %d progress events", lastID)
	}

	// Read to the end: a reconnect is told to stop (204); from the start,
	// it gets the whole run again.
	if resp, _ := sse.Get(t, events, "Last-Event-ID", strconv.Itoa(lastID)); resp.StatusCode != http.StatusNoContent {
		t.Errorf("reconnect after the end: %s; want 204", resp.Status)
	}
	if e := sse.OpenContext(t, ctx, nil, events, "Last-Event-ID", strconv.Itoa(lastID-1)).Next(t); e.ID != strconv.Itoa(lastID) || !strings.Contains(e.Data, `"status":"done"`) {
		t.Errorf("resume from %d: %+v; want the done event", lastID-1, e)
	}

	// The run is over: a new one may start.
	if code, m := post(t, srv.URL, `{"clients":1,"duration":1,"transports":["ws"]}`); code != http.StatusAccepted {
		t.Errorf("POST after the run: %d %v; want 202", code, m)
	}
}

func TestJobsBadRequests(t *testing.T) {
	t.Parallel()
	_, srv := jobsServer(t)
	for body, field := range map[string]string{
		`{"clients":1000000}`:            "clients",
		`{"clients":0}`:                  "clients",
		`{"duration":"forever"}`:         "duration",
		`{"duration":"1h"}`:              "duration",
		`{"duration":0.5}`:               "duration",
		`{"rate":1e9}`:                   "rate",
		`{"rate":0}`:                     "rate",
		`{"transports":["sse","smoke"]}`: "transports",
		`{"transports":[]}`:              "transports",
		`{"clients":5,"colour":"red"}`:   "colour",
		`{"clients":"many"}`:             "clients",
		`{"runs":0}`:                     "runs",
		`{"runs":6}`:                     "runs",
		`{"runs":5,"duration":"30s"}`:    "runs",
		`not json`:                       "",
	} {
		code, m := post(t, srv.URL, body)
		msg, _ := m["error"].(string)
		if code != http.StatusBadRequest || !strings.Contains(msg, field) {
			t.Errorf("POST %s: %d %v; want 400 naming %q", body, code, m, field)
		}
	}
	resp, b := sse.Get(t, srv.URL+"/api/jobs/42/events")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(b, `"error"`) {
		t.Errorf("unknown job: %s %s; want a JSON 404", resp.Status, b)
	}
}

// TestJobsDefaultRuns: without "runs", a job takes 3 runs a transport, or
// as many as fit in MaxJobWindow.
func TestJobsDefaultRuns(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]int{`{}`: 3, `{"duration":"40s"}`: 3, `{"duration":"50s"}`: 2, `{"duration":"60s"}`: 2, `{"runs":1}`: 1} {
		cfg, _, rerr := parseBenchRequest(strings.NewReader(body))
		if rerr != nil || cfg.Runs != want {
			t.Errorf("%s: %d runs (%v); want %d", body, cfg.Runs, rerr, want)
		}
	}
}
