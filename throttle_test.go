package main

import (
	"strings"
	"testing"
	"time"

	"tickertape/internal/sse"
)

// TestThrottleFastMarket is issue 13's repro of a broken throttle, on a
// real server: at -rate 2000 a resume buffer of 200 events spans a tenth
// of a second, far less than the 1 s interval, and a heartbeat comes every
// 200 ms. The throttled stream still gets an AAPL quote at its ticks, no
// reset, and no more deliveries than ticks (the bounds allow any delay a
// loaded machine adds; they would fail a stream that delivered at each
// heartbeat).
func TestThrottleFastMarket(t *testing.T) { sse.OnBothPaths(t, testThrottleFastMarket) }

func testThrottleFastMarket(t *testing.T, p sse.Path) {
	const interval = time.Second
	s := startServerOn(t, p, nil, "-rate", "2000", "-replay", "200", "-heartbeat", "200ms")
	begin := time.Now()
	c := s.open(t, "/events?symbols=AAPL&throttle=1s")
	if ev := c.Next(t); ev.Name != "snapshot" {
		t.Fatalf("first event %s, want snapshot", ev.Name)
	}
	quotes := 0
	for quotes < 3 {
		ev := c.Next(t)
		switch ev.Name {
		case "quote":
			quotes++
			if ticks := int(time.Since(begin) / interval); quotes > ticks {
				t.Fatalf("quote %d after %s: more deliveries than 1 s ticks (%d heartbeats so far)", quotes, time.Since(begin), c.Reader.Comments)
			}
		case "score", "market", "status":
		default:
			t.Fatalf("a throttled stream got %s %s", ev.Name, ev.Data)
		}
	}
	if c.Reader.Comments == 0 {
		t.Error("no heartbeat over 3 intervals at -heartbeat 200ms: heartbeats keep the stream open between deliveries")
	}
	if v := s.metric(t, `tickertape_resets_total{reason="lapped"}`); v != 0 {
		t.Errorf("lapped resets: %v, want 0", v)
	}
	if strings.Contains(s.stderr.String(), "lapped") {
		t.Errorf("a throttled stream was logged as a slow reader:\n%s", s.stderr)
	}
}
