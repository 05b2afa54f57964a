package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stuckClients opens, on host, an SSE stream and a WebSocket whose clients
// never read, and waits until the server's writes to both are blocked on
// their full sockets: the bytes it has written stop growing.
func stuckClients(t *testing.T, base string) {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	for _, req := range []string{
		"GET /events HTTP/1.1\r\nHost: " + host + "\r\n\r\n",
		"GET /ws HTTP/1.1\r\nHost: " + host + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
	} {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.(*net.TCPConn).SetReadBuffer(4096) // a tiny window: the server's writes block soon
		fmt.Fprint(conn, req)
	}
	for _, tr := range []string{"sse", "ws"} {
		waitMetric(t, base, `tickertape_clients{transport="`+tr+`"}`, func(v float64) bool { return v == 1 })
		series := `tickertape_bytes_sent_total{transport="` + tr + `"}`
		last := -1.0
		waitMetric(t, base, series, func(v float64) bool {
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
func TestSIGTERMWithStuckClients(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-addr", "127.0.0.1:0", "-rate", "5000", "-symbols", "200",
		"-grace", "1s", "-write-timeout", "2m")
	cmd.Env = append(os.Environ(), "TICKERTAPE_TEST_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no listening line: %v; %s", err, stderr.String())
	}
	base := strings.TrimSpace(strings.TrimPrefix(line, "tickertape: listening on "))
	stuckClients(t, base)

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want 0; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(time.Minute): // the writes' own timeout is 2m
		t.Fatalf("still running a minute after SIGTERM; stderr:\n%s", stderr.String())
	}
	t.Logf("exited 0, %s after SIGTERM with a 1s grace", time.Since(start).Round(time.Millisecond))
	checkCutLog(t, stderr.String())
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
func TestShutdownCutsStuckClients(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, "-rate", "5000", "-symbols", "200", "-grace", "1s", "-write-timeout", "2m")
	stuckClients(t, s.url)
	if err := s.stop(t); err != nil {
		t.Fatalf("run after a shutdown that cut stuck clients: %v", err)
	}
	checkCutLog(t, s.stderr.String())
}
