package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tickertape/compare/bench"
	"tickertape/feed"
	"tickertape/internal/sse"
)

func checkBenchJSON(t *testing.T, out []byte, clients int) {
	t.Helper()
	var res bench.Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("-json output does not parse: %v\n%s", err, out)
	}
	if len(res.Transports) != 2 {
		t.Fatalf("%d transports in %s", len(res.Transports), out)
	}
	for _, tr := range res.Transports {
		if tr.ClientsHeld != clients || tr.EventsPerSec <= 0 || tr.LatencyP50Ms <= 0 || tr.Gaps != 0 || tr.Duplicates != 0 {
			t.Errorf("%s: %+v; want %d clients held, events, positive latency, no gaps or duplicates", tr.Transport, tr, clients)
		}
		if tr.EventsPerSec > float64(clients)*tr.MarketEventsPerSec*1.25 {
			t.Errorf("%s: delivered %v/s > %d clients × %v published/s", tr.Transport, tr.EventsPerSec, clients, tr.MarketEventsPerSec)
		}
	}
}

// TestBenchURL: `tickertape bench -url … -json` against a running server.
func TestBenchURL(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, "-rate", "200", "-symbols", "8")
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := run(ctx, []string{"bench", "-url", s.url, "-clients", "2", "-duration", "1s", "-json"},
		func(string) string { return "" }, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.Bytes())
	}
	checkBenchJSON(t, stdout.Bytes(), 2)
	if !strings.Contains(stderr.String(), "bench ws:") {
		t.Errorf("no progress lines on stderr: %q", stderr.String())
	}
}

// TestBenchChild: with no -url, the bench starts this binary as its
// server, as `go run . bench` does.
func TestBenchChild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "tickertape")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "bench", "-clients", "3", "-duration", "1s", "-rate", "300", "-symbols", "10", "-json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.Bytes())
	}
	checkBenchJSON(t, out, 3)

	// And the table, for people.
	out, err = exec.CommandContext(ctx, bin, "bench", "-clients", "2", "-duration", "500ms", "-rate", "100", "-symbols", "5").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"clients held", "2/2", "latency p99.9 (ms)", "server CPU s / million events"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-transports", "sse,carrier-pigeon"},
		{"-clients", "0"},
		{"-duration", "1ms"},
		{"-url", "https://example.com"},
		{"-rate", "-5"},
		{"extra"},
	} {
		var stderr bytes.Buffer
		if err := run(context.Background(), append([]string{"bench"}, args...), func(string) string { return "" }, &stderr, &stderr); err == nil {
			t.Errorf("bench %v: no error", args)
		}
	}
}

// TestServerRoutes: the real server (run) serves /ws and the job API, so
// the dashboard can follow the WebSocket twin and start a bench run.
func TestServerRoutes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := startServer(t, nil, "-rate", "200", "-log-level", "error")
	base := s.url

	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws?symbols=AAPL", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	_, msg, err := c.Read(ctx)
	c.CloseNow()
	if err != nil || !strings.HasPrefix(string(msg), `{"event":"snapshot"`) {
		t.Fatalf("first /ws message %.80s (%v); want the snapshot", msg, err)
	}

	job := startJob(t, base, `{"clients":2,"duration":"1s","rate":100,"transports":["ws"]}`)
	r := sse.Open(t, nil, base+"/api/jobs/"+job+"/events").Reader
	var last feed.Event
	for {
		e, err := r.Next()
		if err != nil {
			break
		}
		last = e
	}
	if !strings.Contains(last.Data, `"status":"done"`) || !strings.Contains(last.Data, `"clientsHeld":2`) {
		t.Fatalf("last progress event %s; want done with 2 clients held", last.Data)
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}
}

// startJob starts a bench run through POST /api/bench and returns its job id.
func startJob(t *testing.T, base, body string) string {
	t.Helper()
	resp, err := http.Post(base+"/api/bench", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var accepted struct{ Job string }
	json.NewDecoder(resp.Body).Decode(&accepted)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || accepted.Job == "" {
		t.Fatalf("POST /api/bench: %s %+v", resp.Status, accepted)
	}
	return accepted.Job
}
