package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
		if tr.ClientsHeld != clients || tr.EventsPerSec <= 0 || !(val(tr.LatencyP50Ms) > 0) || tr.Gaps != 0 || tr.Duplicates != 0 {
			t.Errorf("%s: %+v; want %d clients held, events, positive latency, no gaps or duplicates", tr.Transport, tr, clients)
		}
		if !(tr.EventsPerSec <= float64(clients)*val(tr.MarketEventsPerSec)*1.25) {
			t.Errorf("%s: delivered %v/s > %d clients × %v published/s", tr.Transport, tr.EventsPerSec, clients, val(tr.MarketEventsPerSec))
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
	err := run(ctx, []string{"bench", "-url", s.url, "-clients", "2", "-duration", "1s", "-runs", "1", "-json"},
		func(string) string { return "" }, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.Bytes())
	}
	checkBenchJSON(t, stdout.Bytes(), 2)
	if !strings.Contains(stderr.String(), "bench WebSocket:") {
		t.Errorf("no progress lines on stderr: %q", stderr.String())
	}
	if strings.Contains(stderr.String(), "starting the server") {
		t.Errorf("with -url, the progress says it starts a server: %q", stderr.String())
	}
}

// TestBenchChild: with no -url, the bench starts this binary as its
// server, as `go run . bench` does.
func TestBenchChild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "bench", "-clients", "3", "-duration", "1s", "-runs", "1", "-rate", "300", "-symbols", "10", "-json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.Bytes())
	}
	checkBenchJSON(t, out, 3)

	// And the table, for people.
	out, err = exec.CommandContext(ctx, bin, "bench", "-clients", "2", "-duration", "500ms", "-runs", "2", "-rate", "100", "-symbols", "5").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"clients held", "2/2", "latency p99.9", "server CPU per delivery", " µs [", "machine: ", " cores, GOMAXPROCS ",
		"runs:    2 per side, in turns (SSE, WebSocket, SSE, …)", "verdicts", "Why server CPU per delivery falls"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	// SSE over HTTP/2: the child serves TLS with a certificate made in
	// memory; 4 streams, 2 to a connection. WebSocket stays on HTTP/1.1.
	cmd = exec.CommandContext(ctx, bin, "bench", "-h2", "-streams-per-conn", "2", "-clients", "4", "-duration", "500ms", "-runs", "1",
		"-rate", "100", "-symbols", "5", "-json")
	stderr.Reset()
	cmd.Stderr = &stderr
	if out, err = cmd.Output(); err != nil {
		t.Fatalf("bench -h2: %v\n%s", err, stderr.Bytes())
	}
	checkBenchJSON(t, out, 4)
	var res bench.Result
	json.Unmarshal(out, &res)
	if sse, ws := res.Transports[0], res.Transports[1]; sse.Protocol != "HTTP/2 (TLS)" || sse.Connections != 2 || ws.Protocol != "HTTP/1.1 (TLS)" || ws.Connections != 4 {
		t.Errorf("-h2: SSE over %s on %d connections, WebSocket over %s on %d; want HTTP/2 (TLS) on 2, HTTP/1.1 (TLS) on 4",
			sse.Protocol, sse.Connections, ws.Protocol, ws.Connections)
	}
	if !strings.Contains(strings.Join(res.Notes, " "), "WebSocket stays on HTTP/1.1") {
		t.Errorf("-h2: notes %q do not say WebSocket stays on HTTP/1.1", res.Notes)
	}
}

// buildBinary builds this program, as `go build` does.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tickertape")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// val reads a figure the bench may not know: NaN when it does not, so that
// every comparison with it is false.
func val(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
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
		{"-scenario", "stampede"},
		{"-runs", "0"},
		{"-url", "ftp://example.com"},
		{"-url", "http://a:1", "-url", "http://b:2", "-pid", "12"},
		{"-pid", "me"},
		{"-h2", "-url", "http://127.0.0.1:1/events"},
		{"-query", "?events=quote"},
		{"-streams-per-conn", "0"},
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

// TestBenchScenarios runs every -scenario preset once with the built
// binary (bench and child server at full speed, as a user runs them), at
// the preset's full shape (clients × rate, its streams' query), both
// transports, for a short window: the test sets the window, warm-up and
// ramp, never the shape. The 5,000-client presets hold 5,000 sockets in
// the bench and 5,000 in the child, each a process of its own.
func TestBenchScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs 5,000 clients")
	}
	t.Parallel()
	bin := buildBinary(t)
	for _, sc := range bench.Scenarios() {
		// Long enough for several quotes of the market, 1 a second when idle.
		window := max(300*time.Millisecond, time.Duration(10/sc.Rate*float64(time.Second)))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, bin, "bench", "-scenario", sc.Name, "-runs", "1", "-duration", window.String(), "-warmup", "200ms",
			"-ramp", "2s", "-rest", "0", "-json")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		out, err := cmd.Output()
		cancel()
		if err != nil {
			t.Errorf("-scenario %s: %v\n%s", sc.Name, err, tail(stderr.Bytes(), 2000))
			continue
		}
		t.Logf("-scenario %s: %s", sc.Name, time.Since(start).Round(100*time.Millisecond))
		var res bench.Result
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("-scenario %s: %v", sc.Name, err)
		}
		if res.Scenario != sc.Name || res.Clients != sc.Clients || res.Rate != sc.Rate || res.Query != sc.Query || res.DurationSeconds != window.Seconds() {
			t.Errorf("-scenario %s: ran %q, %d clients × %v/s, query %q, window %vs; want the preset's shape and the test's window",
				sc.Name, res.Scenario, res.Clients, res.Rate, res.Query, res.DurationSeconds)
		}
		for _, tr := range res.Transports {
			if tr.ClientsHeld != sc.Clients || tr.Errors != 0 || tr.EventsPerSec <= 0 || tr.Duplicates != 0 {
				t.Errorf("-scenario %s, %s: held %d of %d, %d errors (%s), %v events/s, %d duplicates", sc.Name, tr.Label,
					tr.ClientsHeld, sc.Clients, tr.Errors, tr.FirstError, tr.EventsPerSec, tr.Duplicates)
			}
			// One symbol of 50 a stream: about a fiftieth of the market
			// each, far below clients × market.
			if full := float64(sc.Clients) * val(tr.MarketEventsPerSec); sc.Name == "filtered" && !(tr.EventsPerSec < full/10) {
				t.Errorf("-scenario filtered, %s: %v events/s delivered of %v for unfiltered streams; want under a tenth",
					tr.Label, tr.EventsPerSec, full)
			}
		}
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// TestBenchForeignServer: the bench against a tiny server of the test's
// own, which serves an SSE stream and a WebSocket stream and no metrics at
// all: with -pid, the server's CPU and RSS come from /proc/PID (this test
// process, so a shared process), and no metrics error stops the run.
// Latency comes from the events' ts; a stream without ts is counted
// (events, bytes) with no latency, and says why.
func TestBenchForeignServer(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	events := func(w http.ResponseWriter, r *http.Request, withTS bool) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for id := 1; ; id++ {
			select {
			case <-r.Context().Done():
				return
			case now := <-tick.C:
				data := `{"n":` + strconv.Itoa(id) + `}`
				if withTS {
					data = `{"n":` + strconv.Itoa(id) + `,"ts":` + strconv.FormatInt(now.UnixMilli(), 10) + `}`
				}
				if _, err := io.WriteString(w, "id: "+strconv.Itoa(id)+"\ndata: "+data+"\n\n"); err != nil || rc.Flush() != nil {
					return
				}
			}
		}
	}
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) { events(w, r, true) })
	mux.HandleFunc("GET /plain", func(w http.ResponseWriter, r *http.Request) { events(w, r, false) })
	mux.HandleFunc("GET /socket", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := c.CloseRead(r.Context())
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for id := 1; ; id++ {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				// Not tickertape's envelope: the message is the data, its
				// ts in seconds.
				msg := `{"n":` + strconv.Itoa(id) + `,"ts":` + strconv.FormatFloat(float64(now.UnixMicro())/1e6, 'f', 6, 64) + `}`
				if c.Write(ctx, websocket.MessageText, []byte(msg)) != nil {
					return
				}
			}
		}
	})
	srv := httptest.NewServer(mux) // no /metrics: every other path is a 404
	defer srv.Close()
	ws := "ws" + strings.TrimPrefix(srv.URL, "http")
	pid := strconv.Itoa(os.Getpid())
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := run(ctx, []string{"bench", "-url", "mine=" + srv.URL + "/stream", "-url", ws + "/socket", "-url", srv.URL + "/plain",
		"-pid", pid, "-pid", pid, "-pid", pid, "-clients", "3", "-duration", "500ms", "-warmup", "100ms", "-runs", "1", "-json"},
		func(string) string { return "" }, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.Bytes())
	}
	var res bench.Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Transports) != 3 {
		t.Fatalf("%d sides; want 3 (one per -url)", len(res.Transports))
	}
	if !res.SharedProcess {
		t.Error("-pid of the bench's own process is not a shared process")
	}
	for i, tr := range res.Transports {
		want := []string{"mine", "WebSocket 127.0.0.1", "SSE 127.0.0.1"}[i]
		if !strings.HasPrefix(tr.Label, want) || tr.ClientsHeld != 3 || tr.Errors != 0 || tr.EventsPerSec <= 0 || tr.BytesPerEvent <= 0 {
			t.Errorf("side %d: %s held %d, %d errors (%s), %v events/s, %v B/event; want %s…, 3, none, some, some",
				i, tr.Label, tr.ClientsHeld, tr.Errors, tr.FirstError, tr.EventsPerSec, tr.BytesPerEvent, want)
		}
		if proc := "/proc/" + pid; tr.Sources.CPU != proc || tr.Sources.RSS != proc || tr.Sources.Heap != "" {
			t.Errorf("%s: sources %+v; want CPU and RSS from %s, no heap", tr.Label, tr.Sources, proc)
		}
		if !(val(tr.ServerCPUPerMillionEvents) > 0) || tr.ServerRSSPerClientBytes == nil {
			t.Errorf("%s: server CPU %v µs per delivery, RSS per client %v; want both measured", tr.Label,
				val(tr.ServerCPUPerMillionEvents), val(tr.ServerRSSPerClientBytes))
		}
		if tr.MarketEventsPerSec != nil || tr.ServerMemoryPerClientBytes != nil {
			t.Errorf("%s: market %v events/s, heap %v per client from a server that says neither", tr.Label,
				val(tr.MarketEventsPerSec), val(tr.ServerMemoryPerClientBytes))
		}
		if hasTS := i < 2; hasTS != (tr.LatencyP50Ms != nil) || (hasTS && !(val(tr.LatencyP50Ms) >= 0 && val(tr.LatencyP50Ms) < 5000)) {
			t.Errorf("%s: p50 %v ms; want a latency exactly when the events carry ts (ms, or s as on the WebSocket)", tr.Label, val(tr.LatencyP50Ms))
		}
	}
	notes := strings.Join(res.Notes, "\n")
	if !strings.Contains(notes, "carry no ts") || strings.Contains(notes, "metrics") && strings.Contains(notes, "not known") {
		t.Errorf("notes %q; want one saying the plain stream has no ts, none saying server figures are missing", notes)
	}

	// Without -pid, the same server gives no server figures, and the run
	// still succeeds, saying what to give.
	stdout.Reset()
	if err := run(ctx, []string{"bench", "-url", srv.URL + "/stream", "-clients", "2", "-duration", "300ms", "-warmup", "0s", "-rest", "0", "-runs", "1"},
		func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("without -pid: %v", err)
	}
	for _, want := range []string{"server CPU per delivery       n/a", "give -pid PID", "SSE: " + srv.URL + "/stream over HTTP/1.1"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("without -pid, the table lacks %q:\n%s", want, stdout.String())
		}
	}
}

// TestBenchScenarioFlags: a preset sets clients, rate, query, ramp, warm-up
// and window; a flag given on the command line or in the environment wins.
func TestBenchScenarioFlags(t *testing.T) {
	t.Parallel()
	for _, sc := range bench.Scenarios() {
		c, err := parseBenchConfig([]string{"-scenario", sc.Name}, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatalf("-scenario %s: %v", sc.Name, err)
		}
		if c.scenario != sc.Name || c.clients != sc.Clients || c.rate != sc.Rate || c.query != sc.Query ||
			c.ramp != sc.Ramp || c.warmup != sc.Warmup || c.duration != sc.Duration || c.runs != 3 {
			t.Errorf("-scenario %s: %+v; want the preset %+v and 3 runs", sc.Name, c, sc)
		}
	}
	env := map[string]string{"TICKERTAPE_RATE": "300"}
	c, err := parseBenchConfig([]string{"-scenario", "fanout", "-clients", "10", "-duration", "2s"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.clients != 10 || c.duration != 2*time.Second || c.rate != 300 || c.query != "events=quote" || c.ramp != 5*time.Second {
		t.Errorf("fanout with -clients 10 -duration 2s and TICKERTAPE_RATE=300: %+v", c)
	}
}
