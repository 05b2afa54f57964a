package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// A client that hangs up is not a drop: SSE clients that close their
// connection (FIN) or reset it (RST), and WebSocket clients that close
// with a handshake or without, are each counted once as client_gone, and
// logged at debug, never at info. Nothing counts as write_error or
// write_timeout.
func TestHangUpIsNotADrop(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, "-rate", "2000", "-log-level", "debug")
	host := strings.TrimPrefix(s.url, "http://")
	const n = 10 // of each kind
	for i := range 2 * n {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET /events HTTP/1.1\r\nHost: %s\r\n\r\n", host)
		br := bufio.NewReader(conn)
		for { // until the snapshot is in: the stream is admitted and writing
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(line, "event: snapshot") {
				break
			}
		}
		if i%2 == 1 {
			conn.(*net.TCPConn).SetLinger(0) // Close sends RST
		}
		conn.Close()
	}
	ctx := t.Context()
	for i := range 2 * n {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.url, "http")+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadLimit(1 << 20)
		if _, _, err := c.Read(ctx); err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			c.CloseNow()
			continue
		}
		closeCtx, cancel := context.WithCancel(ctx)
		go func() { // Close waits for the server's close frame, behind the events in flight
			for {
				if _, _, err := c.Read(closeCtx); err != nil {
					return
				}
			}
		}()
		c.Close(websocket.StatusNormalClosure, "bye")
		cancel()
	}

	for _, tr := range []string{"sse", "ws"} {
		waitMetric(t, s.url, `tickertape_clients{transport="`+tr+`"}`, func(v float64) bool { return v == 0 })
		gone := waitMetric(t, s.url, `tickertape_streams_dropped_total{cause="client_gone",transport="`+tr+`"}`,
			func(v float64) bool { return v >= 2*n })
		if gone != 2*n {
			t.Errorf("%s: %v hang-ups counted as client_gone, want %d", tr, gone, 2*n)
		}
		for _, cause := range []string{"write_error", "write_timeout"} {
			if v := metric(t, s.url, `tickertape_streams_dropped_total{cause="`+cause+`",transport="`+tr+`"}`); v > 0 {
				t.Errorf("%s: %v hang-ups counted as %s", tr, v, cause)
			}
		}
	}
	debug := 0
	for _, line := range strings.Split(s.stderr.String(), "\n") {
		if !strings.Contains(line, "cause=") {
			continue
		}
		if !strings.Contains(line, "level=DEBUG") || !strings.Contains(line, "cause=client_gone") {
			t.Errorf("a hang-up logged as: %s", line)
		}
		debug++
	}
	if debug != 4*n {
		t.Errorf("%d hang-ups logged at debug, want %d", debug, 4*n)
	}
}
