package bench

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"tickertape/feed"
)

// TestRunsSpread: -runs 3 takes the sides in turns (SSE WS SSE WS SSE WS),
// and every figure comes out as its median between its min and max, with
// each run's value; verdicts say "within noise" exactly when the ranges
// overlap.
func TestRunsSpread(t *testing.T) {
	t.Parallel()
	var starts []string
	// A window long enough that every run sees quotes, so that every figure
	// has three values, on a loaded machine too (600 ms once saw none).
	cfg := Config{
		Clients: 3, Duration: 1500 * time.Millisecond, Warmup: 200 * time.Millisecond, Rest: 300 * time.Millisecond, Runs: 3,
		Transports: []feed.Transport{feed.SSE, feed.WS},
		Start:      InProcess(startServer, ServerConfig{Rate: 300, Symbols: "10", Seed: 1}),
		Progress: func(p Progress) {
			if p.Phase == "starting" {
				starts = append(starts, fmt.Sprintf("%s %d/%d", p.Transport, p.Run, p.Runs))
			}
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(starts, ", "), "sse 1/3, ws 1/3, sse 2/3, ws 2/3, sse 3/3, ws 3/3"; got != want {
		t.Errorf("turns %s; want %s", got, want)
	}
	if res.Runs != 3 {
		t.Errorf("result says %d runs; want 3", res.Runs)
	}
	for _, tr := range res.Transports {
		for _, f := range figures {
			v, ok := f.get(&tr)
			rg := tr.Spread[f.Key]
			if !ok || rg == nil {
				// Against this server every figure is known: metrics, the
				// profiler, a market with ts, no shared-process exception
				// but the client CPU (which is then 0, still a figure).
				t.Errorf("%s: %s not measured", tr.Label, f.Key)
				continue
			}
			if len(rg.Runs) != 3 {
				t.Errorf("%s: %s has %d run values %v; want 3", tr.Label, f.Key, len(rg.Runs), rg.Runs)
				continue
			}
			lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
			for _, x := range rg.Runs {
				lo, hi, sum = min(lo, x), max(hi, x), sum+x
			}
			if rg.Min != lo || rg.Max != hi {
				t.Errorf("%s: %s range [%v, %v] of runs %v", tr.Label, f.Key, rg.Min, rg.Max, rg.Runs)
			}
			switch f.agg {
			case aggMedian:
				if !(rg.Min <= v && v <= rg.Max) || v != round(median(rg.Runs)) {
					t.Errorf("%s: %s median %v of runs %v (range [%v, %v])", tr.Label, f.Key, v, rg.Runs, rg.Min, rg.Max)
				}
			case aggSum:
				if v != sum {
					t.Errorf("%s: %s total %v of runs %v", tr.Label, f.Key, v, rg.Runs)
				}
			case aggMin:
				if v != rg.Min {
					t.Errorf("%s: %s %v; want the fewest of runs %v", tr.Label, f.Key, v, rg.Runs)
				}
			}
		}
		if len(tr.LatencyCDF) < 2 || tr.LatencyCDF[len(tr.LatencyCDF)-1][1] != 1 {
			t.Errorf("%s: latency CDF %v; want points rising to 1", tr.Label, tr.LatencyCDF)
		}
		for i := 1; i < len(tr.LatencyCDF); i++ {
			if tr.LatencyCDF[i][0] < tr.LatencyCDF[i-1][0] || tr.LatencyCDF[i][1] <= tr.LatencyCDF[i-1][1] {
				t.Errorf("%s: latency CDF not rising at %d: %v", tr.Label, i, tr.LatencyCDF)
				break
			}
		}
		if tr.Sources.Heap != srcForcedGC || tr.Sources.CPU != srcMetrics {
			t.Errorf("%s: sources %+v; want CPU from metrics and heap after a forced GC", tr.Label, tr.Sources)
		}
	}
	if l := res.Machine.OtherLoadCores; l == nil || res.Machine.OtherLoadSpread == nil || len(res.Machine.OtherLoadSpread.Runs) != 6 {
		t.Errorf("machine %+v; want the other load of each of the 6 windows", res.Machine)
	}
	if res.Machine.Cores < 1 || res.Machine.Go == "" || res.Machine.CPU == "" {
		t.Errorf("machine %+v; want cores, CPU and Go version", res.Machine)
	}
	n := 0
	for _, v := range res.Verdicts {
		f := figures[figureIndex(v.Figure)]
		a, b := res.Transports[0].Spread[v.Figure], res.Transports[1].Spread[v.Figure]
		overlap := a.Min <= b.Max && b.Min <= a.Max
		if v.WithinNoise != overlap || (overlap != strings.HasPrefix(v.Text, "within noise")) {
			t.Errorf("verdict %+v for ranges %+v and %+v", v, a, b)
		}
		if f.verdict == "" {
			t.Errorf("a verdict on %s, which has none", v.Figure)
		}
		n++
	}
	want := 0
	for _, f := range figures {
		if f.verdict != "" {
			want++
		}
	}
	if n != want {
		t.Errorf("%d verdicts; want one per comparable figure, %d", n, want)
	}
	if !strings.Contains(strings.Join(res.Notes, " "), "batching") {
		t.Errorf("notes %q do not explain CPU per delivery", res.Notes)
	}
}

func figureIndex(key string) int {
	for i, f := range figures {
		if f.Key == key {
			return i
		}
	}
	return -1
}

// TestVerdictText: overlapping ranges are "within noise"; apart, the text
// says which side uses how much more, in the figure's own words.
func TestVerdictText(t *testing.T) {
	t.Parallel()
	r := &Result{Runs: 3, Transports: []TransportResult{
		{Label: "SSE", BytesPerEvent: 100, ServerCPUPerMillionEvents: ptr(2),
			Spread: map[string]*Range{"bytesPerEvent": {Min: 99, Max: 101}, "serverCpuSecondsPerMillionEvents": {Min: 1.9, Max: 2.1}}},
		{Label: "WebSocket", BytesPerEvent: 103, ServerCPUPerMillionEvents: ptr(2.05),
			Spread: map[string]*Range{"bytesPerEvent": {Min: 102, Max: 104}, "serverCpuSecondsPerMillionEvents": {Min: 2.0, Max: 2.2}}},
	}}
	vs := verdicts(r)
	if len(vs) != 2 {
		t.Fatalf("verdicts %+v; want two", vs)
	}
	if v := vs[0]; v.Figure != "bytesPerEvent" || v.WithinNoise || !strings.HasPrefix(v.Text, "WebSocket uses 3.0 % more bytes per event than SSE") {
		t.Errorf("bytes verdict %+v", v)
	}
	if v := vs[1]; !v.WithinNoise || !strings.HasPrefix(v.Text, "within noise") {
		t.Errorf("CPU verdict %+v", v)
	}
	r.Runs = 1
	if v := verdicts(r)[1]; v.WithinNoise || !strings.Contains(v.Text, "one run") {
		t.Errorf("one run: %+v; want no noise verdict, and saying why", v)
	}
}

func TestFmtNum(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		x    float64
		dec  int
		want string
	}{{177567.5, 1, "177,567.5"}, {999, 0, "999"}, {1000, 0, "1,000"}, {-1234567, 0, "-1,234,567"}, {0.123, 2, "0.12"}, {200, -1, "200"}} {
		if got := fmtNum(c.x, c.dec); got != c.want {
			t.Errorf("fmtNum(%v, %d) = %q; want %q", c.x, c.dec, got, c.want)
		}
	}
}
