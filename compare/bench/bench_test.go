package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"tickertape/feed"
)

// TestBenchSmall runs a real bench, small: a few clients of each transport
// for a couple of seconds against an in-process server, and checks that
// its figures are sane.
func TestBenchSmall(t *testing.T) {
	t.Parallel()
	var progress []Progress
	cfg := Config{
		Clients: 3, Duration: 2 * time.Second, Transports: []feed.Transport{feed.SSE, feed.WS},
		Start:    InProcess(startServer, ServerConfig{Rate: 300, Symbols: "10", Seed: 1}),
		Progress: func(p Progress) { progress = append(progress, p) },
		Describe: "in-process test server", Rate: 300, Symbols: "10",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Transports) != 2 || res.Transports[0].Transport != "sse" || res.Transports[1].Transport != "ws" {
		t.Fatalf("transports %+v; want sse then ws", res.Transports)
	}
	if !res.SharedProcess {
		t.Error("an in-process server is not marked sharedProcess")
	}
	for _, tr := range res.Transports {
		t.Logf("%+v", tr)
		if tr.ClientsHeld != 3 || tr.Errors != 0 {
			t.Errorf("%s: held %d clients with %d errors (%s); want 3 and 0", tr.Transport, tr.ClientsHeld, tr.Errors, tr.FirstError)
		}
		if !(val(tr.MarketEventsPerSec) > 0) || tr.EventsPerSec <= 0 {
			t.Errorf("%s: market %v events/s, delivered %v; want both positive", tr.Transport, val(tr.MarketEventsPerSec), tr.EventsPerSec)
		}
		// Delivered can exceed clients × published only by what the
		// window edges let in: the two are counted a scrape apart.
		if limit := 3 * val(tr.MarketEventsPerSec) * 1.25; tr.EventsPerSec > limit {
			t.Errorf("%s: delivered %v events/s > 3 clients × %v published", tr.Transport, tr.EventsPerSec, val(tr.MarketEventsPerSec))
		}
		p50, p99, p999, pmax := val(tr.LatencyP50Ms), val(tr.LatencyP99Ms), val(tr.LatencyP999Ms), val(tr.LatencyMaxMs)
		if !(p50 > 0 && p50 <= p99 && p99 <= p999 && p999 <= pmax) {
			t.Errorf("%s: latencies p50 %v p99 %v p99.9 %v max %v; want positive and ordered",
				tr.Transport, p50, p99, p999, pmax)
		}
		if tr.Gaps != 0 || tr.Duplicates != 0 || tr.Resets != 0 {
			t.Errorf("%s: %d gaps, %d duplicates, %d resets; want none", tr.Transport, tr.Gaps, tr.Duplicates, tr.Resets)
		}
		// A quote is about 250 bytes of JSON; framing adds a little.
		if tr.BytesPerEvent < 100 || tr.BytesPerEvent > 2000 {
			t.Errorf("%s: %v bytes per event", tr.Transport, tr.BytesPerEvent)
		}
		if !(val(tr.ServerCPUPerMillionEvents) > 0) {
			t.Errorf("%s: server CPU %v s per million events; want positive", tr.Transport, val(tr.ServerCPUPerMillionEvents))
		}
	}
	if n := len(progress); n < 4 || progress[n-1].Phase != "done" || progress[n-1].Completion != 100 {
		t.Fatalf("progress %+v; want several, ending done at 100", progress)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i].Completion < progress[i-1].Completion {
			t.Errorf("progress went back: %+v then %+v", progress[i-1], progress[i])
		}
	}

	// The JSON is the dashboard's contract: camelCase names, numbers.
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Clients    int              `json:"clients"`
		Transports []map[string]any `json:"transports"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"transport", "clientsHeld", "eventsPerSec", "latencyP50Ms", "latencyP99Ms", "latencyP999Ms",
		"bytesPerEvent", "serverCpuSecondsPerMillionEvents", "serverMemoryPerClientBytes", "gaps", "duplicates"} {
		if _, ok := m.Transports[0][k]; !ok {
			t.Errorf("result JSON lacks %q: %s", k, b)
		}
	}
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"latency p99", "bytes on the wire per event", "SSE", "WebSocket", "3/3"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

// val reads a figure the bench may not know: NaN when it does not, so that
// every comparison with it is false.
func val(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func TestHistogram(t *testing.T) {
	var h histogram
	for v := uint64(1); v <= 100000; v++ {
		h.record(v)
	}
	for _, q := range []float64{0.5, 0.99, 0.999} {
		want := q * 100000
		if got := h.quantile(q); math.Abs(got-want)/want > 0.03 {
			t.Errorf("q%v = %v; want %v within 3%%", q, got, want)
		}
	}
	if h.quantile(1) != 100000 {
		t.Errorf("max %v", h.quantile(1))
	}
	for i := range histSize {
		if histIndex(uint64(histValue(i))) != i {
			t.Fatalf("bucket %d: middle %v falls in bucket %d", i, histValue(i), histIndex(uint64(histValue(i))))
		}
	}
	var empty histogram
	if !math.IsNaN(empty.quantile(0.5)) {
		t.Error("an empty histogram has a median")
	}
}

func TestParseEnvelope(t *testing.T) {
	for in, want := range map[string][3]string{
		`{"event":"quote","id":"12","data":{"ts":1.5}}`:      {"quote", "12", `{"ts":1.5}`},
		`{"event":"reset","data":{"reason":"lapped"}}`:       {"reset", "", `{"reason":"lapped"}`},
		`{"data":{"a":1},"id":"7","event":"score"}`:          {"score", "7", `{"a":1}`},
		`{"event":"snapshot","id":"9","data":{"quotes":[]}}`: {"snapshot", "9", `{"quotes":[]}`},
	} {
		n, id, d, err := parseEnvelope([]byte(in))
		if err != nil || [3]string{n, id, d} != want {
			t.Errorf("parseEnvelope(%s) = %q %q %q %v; want %q", in, n, id, d, err, want)
		}
	}
	if _, _, _, err := parseEnvelope([]byte(`not json`)); err == nil {
		t.Error("accepted garbage")
	}
	if ts, ok := tsOf(`{"symbol":"A","price":1,"ts":1795635253326.863}`); !ok || ts != 1795635253326.863 {
		t.Errorf("tsOf: %v %v", ts, ok)
	}
}
