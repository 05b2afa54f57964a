package main

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"tickertape/internal/sse"
)

// historyBar is one bar of /api/history.
type historyBar struct {
	T          int64
	O, H, L, C float64
	V          int64
}

// minuteBars returns a node's 1m bars of symbol.
func minuteBars(t *testing.T, base, symbol string) []historyBar {
	t.Helper()
	resp, body := sse.Get(t, base+"/api/history?interval=1m&limit=5000&symbol="+symbol)
	var h struct{ Bars []historyBar }
	if err := json.Unmarshal([]byte(body), &h); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s/api/history: %s %s: %v", base, resp.Status, body, err)
	}
	return h.Bars
}

// waitDaySoFar waits until a node's 1m history of symbol holds the day so
// far (at least 60 bars), and returns it.
func waitDaySoFar(t *testing.T, base, symbol string) []historyBar {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		bars := minuteBars(t, base, symbol)
		if len(bars) >= 60 {
			return bars
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d 1m bars of %s; want the day so far, at least 60", base, len(bars), symbol)
		}
		time.Sleep(50 * time.Millisecond) // polling an outside view
	}
}

// Every node of a cluster opens its charts on the day so far: the leader
// of a fresh simulated market, its standby and a consumer, a consumer that
// starts later, and one that starts after the standby took the market
// over. The morning the leader's market traded before it went live (never
// events: no ids) reaches them through the broker, so their morning bars
// are the leader's, and the day's open in each node's snapshot is its
// first bar's.
func TestClusterHistoryOfTheMorning(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	args := []string{"-broker", url, "-broker-publish", "-seed", "4", "-rate", "50"}
	a := startServer(t, nil, args...)
	b := startServer(t, nil, args...)
	c := startServer(t, nil, "-broker", url)
	logOnFailure(t, a, b, c)
	lead, standby := a, b
	if waitLeader(t, a.url, b.url) == b.url {
		lead, standby = b, a
	}

	want := waitDaySoFar(t, lead.url, "AAPL")
	if first := time.UnixMilli(want[0].T); time.Since(first) < 90*time.Minute {
		t.Errorf("the day opened at %v, %v ago; want about a quarter of a trading day (97.5 min)", first, time.Since(first))
	}
	same := func(n string) {
		t.Helper()
		got := waitDaySoFar(t, n, "AAPL")
		// The last bar may still be trading; the ones before it are done.
		if k := min(len(got), len(want)) - 1; !slices.Equal(got[:k], want[:k]) {
			t.Errorf("%s's 1m bars of AAPL differ from the leader's:\n%v\n%v", n, got[:k], want[:k])
		}
	}
	late := startServer(t, nil, "-broker", url)
	logOnFailure(t, late)
	nodes := []string{standby.url, c.url, late.url}
	for _, n := range nodes {
		same(n)
	}
	checkOpen(t, want[0].O, append(nodes, lead.url)...)

	// The standby takes the market over: it publishes no morning of its
	// own, and a node that starts now still gets the day's.
	if err := lead.stop(t); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, standby.url, "tickertape_broker_leader", func(v float64) bool { return v == 1 })
	after := startServer(t, nil, "-broker", url)
	logOnFailure(t, after)
	for _, n := range append(nodes, after.url) {
		same(n)
	}
	checkOpen(t, want[0].O, after.url)
}

// checkOpen checks that the day's open of AAPL in each node's snapshot is
// open, its first bar's.
func checkOpen(t *testing.T, open float64, nodes ...string) {
	t.Helper()
	for _, n := range nodes {
		_, body := sse.Get(t, n+"/api/snapshot")
		var snap struct {
			Quotes []struct {
				Symbol string
				Open   float64
			}
		}
		if err := json.Unmarshal([]byte(body), &snap); err != nil {
			t.Fatal(err)
		}
		for _, q := range snap.Quotes {
			if q.Symbol == "AAPL" && q.Open != open {
				t.Errorf("%s: AAPL opened at %v in the snapshot, at %v in the bars", n, q.Open, open)
			}
		}
	}
}
