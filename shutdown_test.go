package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"tickertape/internal/sse"
)

// stuckClients opens an SSE stream and a WebSocket whose clients never
// read (on HTTPS, the stream is HTTP/2's), and waits until the server's
// writes to both are blocked on their full sockets or windows: the bytes
// it has written stop growing.
func stuckClients(t *testing.T, r reach) {
	t.Helper()
	r.stalled(t, "/events")
	conn := r.dial(t, 4096, "") // a tiny window: the server's writes block soon
	fmt.Fprint(conn, "GET /ws HTTP/1.1\r\nHost: "+r.host()+"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	for _, tr := range []string{"sse", "ws"} {
		r.waitMetric(t, `tickertape_clients{transport="`+tr+`"}`, func(v float64) bool { return v == 1 })
		series := `tickertape_bytes_sent_total{transport="` + tr + `"}`
		last := -1.0
		r.waitMetric(t, series, func(v float64) bool {
			// At -rate 5000 a stream that can write grows by the
			// millisecond; one whose socket is full stays put.
			stalled := v > 0 && v == last
			last = v
			time.Sleep(300 * time.Millisecond) // between two looks at an outside view
			return stalled
		})
	}
}

// SIGTERM with clients whose sockets are full and whose writes may block
// longer than the grace (-write-timeout > -grace): at the grace's end the
// process cuts them, logs how many, and exits 0, long before a write
// would time out.
func TestSIGTERMWithStuckClients(t *testing.T) { sse.OnBothPaths(t, testSIGTERMWithStuckClients) }

func testSIGTERMWithStuckClients(t *testing.T, p sse.Path) {
	node := startNodeOn(t, p, "-rate", "5000", "-symbols", "200", "-grace", "1s", "-write-timeout", "2m")
	stuckClients(t, node.reach)

	start := time.Now()
	if err := node.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-node.exited:
		if node.err != nil {
			t.Fatalf("exit after SIGTERM: %v, want 0; stderr:\n%s", node.err, node.stderr)
		}
	case <-time.After(time.Minute): // the writes' own timeout is 2m
		t.Fatalf("still running a minute after SIGTERM; stderr:\n%s", node.stderr)
	}
	t.Logf("exited 0, %s after SIGTERM with a 1s grace", time.Since(start).Round(time.Millisecond))
	checkCutLog(t, node.stderr.String())
}

// checkCutLog checks a log for the line of a shutdown that cut 2 streams,
// both of which then ended.
func checkCutLog(t *testing.T, log string) {
	t.Helper()
	if !strings.Contains(log, "grace ran out") || !strings.Contains(log, "streams=2") {
		t.Errorf("the log does not say that the grace ran out with 2 streams cut:\n%s", log)
	}
	if strings.Contains(log, "still running") {
		t.Errorf("a stream outlived the cut:\n%s", log)
	}
}

// The same in process: run returns nil, and goleak (at the end of the
// package) finds no stream left behind, WebSocket included.
func TestShutdownCutsStuckClients(t *testing.T) { sse.OnBothPaths(t, testShutdownCutsStuckClients) }

func testShutdownCutsStuckClients(t *testing.T, p sse.Path) {
	s := startServerOn(t, p, nil, "-rate", "5000", "-symbols", "200", "-grace", "1s", "-write-timeout", "2m")
	stuckClients(t, s.reach)
	if err := s.stop(t); err != nil {
		t.Fatalf("run after a shutdown that cut stuck clients: %v", err)
	}
	checkCutLog(t, s.stderr.String())
}
