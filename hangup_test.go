package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"tickertape/internal/sse"
)

// A client that hangs up is not a drop: SSE clients that close their
// connection (FIN) or reset it (RST), or, on HTTP/2, end their stream
// (RST_STREAM), and WebSocket clients that close with a handshake or
// without, are each counted once as client_gone, and logged at debug,
// never at info. Nothing counts as write_error or write_timeout.
func TestHangUpIsNotADrop(t *testing.T) { sse.OnBothPaths(t, testHangUpIsNotADrop) }

func testHangUpIsNotADrop(t *testing.T, p sse.Path) {
	s := startServerOn(t, p, nil, "-rate", "2000", "-log-level", "debug")
	const n = 10 // of each kind
	for i := range 2 * n {
		if p == sse.HTTP2 {
			hangUpHTTP2(t, s.reach, i%4)
			continue
		}
		conn := s.dial(t, 0, "")
		fmt.Fprintf(conn, "GET /events HTTP/1.1\r\nHost: %s\r\n\r\n", s.host())
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
		c := s.dialWS(ctx, t)
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
		s.waitMetric(t, `tickertape_clients{transport="`+tr+`"}`, func(v float64) bool { return v == 0 })
		gone := s.waitMetric(t, `tickertape_streams_dropped_total{cause="client_gone",transport="`+tr+`"}`,
			func(v float64) bool { return v >= 2*n })
		if gone != 2*n {
			t.Errorf("%s: %v hang-ups counted as client_gone, want %d", tr, gone, 2*n)
		}
		for _, cause := range []string{"write_error", "write_timeout"} {
			if v := s.metric(t, `tickertape_streams_dropped_total{cause="`+cause+`",transport="`+tr+`"}`); v > 0 {
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

// hangUpHTTP2 opens an event stream over HTTP/2, on a connection of its
// own, reads its snapshot, and hangs up in one of four ways: it ends the
// stream (RST_STREAM) with the connection left open, or closes the
// connection under it politely (TLS close_notify, then FIN), bluntly (FIN),
// or with a reset (RST).
func hangUpHTTP2(t *testing.T, r reach, how int) {
	t.Helper()
	conns := make(chan net.Conn, 1)
	tr := &http.Transport{ForceAttemptHTTP2: true, DialTLSContext: func(context.Context, string, string) (net.Conn, error) {
		c, err := r.dialConn(0, "h2")
		if err == nil {
			conns <- c
		}
		return c, err
	}}
	defer tr.CloseIdleConnections()
	c := sse.Open(t, &http.Client{Transport: tr}, r.url+"/events")
	if c.Response.ProtoMajor != 2 {
		t.Fatalf("GET /events: %s", c.Response.Proto)
	}
	if ev := c.Next(t); ev.Name != "snapshot" { // the stream is admitted and writing
		t.Fatalf("first event %s", ev.Name)
	}
	conn := <-conns
	tcp := conn.(*tls.Conn).NetConn().(*net.TCPConn)
	switch how {
	case 0:
		c.Stop()
	case 1:
		conn.Close()
	case 2:
		tcp.Close()
	default:
		tcp.SetLinger(0)
		tcp.Close()
	}
	c.Stop()
}
