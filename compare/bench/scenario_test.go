package bench

import (
	"net/url"
	"strings"
	"testing"

	"tickertape/feed"
)

// TestScenarioPresets: every preset has a shape and a timing, and is found
// by its name, in any case. (main's TestBenchScenarios runs each one.)
func TestScenarioPresets(t *testing.T) {
	t.Parallel()
	for _, sc := range Scenarios() {
		if sc.Clients < 1 || sc.Rate <= 0 || sc.Query == "" || sc.Duration <= 0 || sc.Warmup <= 0 || sc.Ramp <= 0 || sc.What == "" {
			t.Errorf("preset %+v lacks a field", sc)
		}
		if got, ok := ScenarioNamed(strings.ToUpper(sc.Name)); !ok || got != sc {
			t.Errorf("ScenarioNamed(%q) = %+v, %v", strings.ToUpper(sc.Name), got, ok)
		}
	}
	if _, ok := ScenarioNamed("stampede"); ok {
		t.Error("an unknown scenario was found")
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestStreamURL: {symbol} becomes a different symbol per client, in turn,
// and a side's own stream is kept as it is.
func TestStreamURL(t *testing.T) {
	t.Parallel()
	base := mustURL(t, "http://127.0.0.1:1")
	syms := []string{"AAA", "B&B"}
	for i, want := range []string{"ws://127.0.0.1:1/ws?events=quote&symbols=AAA", "ws://127.0.0.1:1/ws?events=quote&symbols=B%26B",
		"ws://127.0.0.1:1/ws?events=quote&symbols=AAA"} {
		if got := streamURL(base, Side{Transport: feed.WS}, "events=quote&symbols={symbol}", syms, i).String(); got != want {
			t.Errorf("client %d: %s; want %s", i, got, want)
		}
	}
	got := streamURL(base, Side{Transport: feed.SSE, Stream: "/feed/sse?x=1"}, "events=quote", nil, 0).String()
	if got != "http://127.0.0.1:1/feed/sse?x=1" {
		t.Errorf("own stream: %s", got)
	}
}
