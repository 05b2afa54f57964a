package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"tickertape/internal/sse"
)

// rawRequest sends bytes as they are and returns the status line and the
// start of the response.
func rawRequest(t *testing.T, host, request string) string {
	t.Helper()
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	br := bufio.NewReader(conn)
	for b.Len() < 4096 {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil || strings.HasPrefix(line, "retry:") || strings.HasPrefix(line, "{") {
			break
		}
	}
	return b.String()
}

func TestHostileInput(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, "-max-header-bytes", "8192", "-max-filter-symbols", "100")
	host := strings.TrimPrefix(s.url, "http://")
	_, symbolsBody := sse.Get(t, s.url+"/api/symbols")
	if !strings.Contains(symbolsBody, "AAPL") {
		t.Fatal("no AAPL")
	}
	many := strings.Repeat("AAPL,", 500) // more than -max-filter-symbols, less than the header limit
	for _, tc := range []struct {
		name, request, want string
	}{
		{"oversized header", "GET /events HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 20000) + "\r\n\r\n", "431"},
		{"oversized query", "GET /events?symbols=" + strings.Repeat("A", 20000) + " HTTP/1.1\r\nHost: x\r\n\r\n", "431"},
		{"thousands of symbols", "GET /events?symbols=" + many[:len(many)-1] + " HTTP/1.1\r\nHost: x\r\n\r\n", `400 Bad Request`},
		{"non-UTF-8 symbol", "GET /events?symbols=%ff%c3%28 HTTP/1.1\r\nHost: x\r\n\r\n", `unknown symbol`},
		{"raw non-UTF-8 in the query", "GET /events?events=\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n", "400"},
		{"Accept: text/html", "GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n\r\n", "406"},
		{"Last-Event-ID with spaces", "GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 12 34\r\n\r\n", "retry:"},
		{"Last-Event-ID huge", "GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 99999999999999999999999999999\r\n\r\n", "retry:"},
		// Go joins an obsolete folded header with a space: "1 2", a bad id.
		{"Last-Event-ID folded over lines", "GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\r\n 2\r\n\r\n", "retry:"},
		{"Last-Event-ID with a bare CR", "GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\r2\r\n\r\n", "400"},
		{"request line garbage", "\x00\x01\x02 / HTTP/1.1\r\n\r\n", "400"},
		{"unknown method", "BREW /events HTTP/1.1\r\nHost: x\r\n\r\n", "405"},
	} {
		got := rawRequest(t, host, tc.request)
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %.300q, want %q", tc.name, got, tc.want)
		}
	}

	// Odd ids reset, never break: spaces, a huge number.
	for _, id := range []string{"12 34", "99999999999999999999999999999", "  ", "-1", "1e9"} {
		c := sse.Open(t, nil, s.url+"/events?events=market", "Last-Event-ID", id)
		ev := c.Next(t)
		if ev.Name != "reset" && strings.TrimSpace(id) != "" {
			t.Errorf("Last-Event-ID %q: %s, want reset", id, ev.Name)
		}
		c.Stop()
	}

	// A client that vanishes in the middle of a large snapshot.
	big := startServer(t, nil, "-symbols", "5000", "-rate", "100")
	bigHost := strings.TrimPrefix(big.url, "http://")
	for range 20 {
		conn, err := net.Dial("tcp", bigHost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
		conn.Read(make([]byte, 1000))
		conn.(*net.TCPConn).SetLinger(0) // a reset, not a polite close
		conn.Close()
	}
	waitMetric(t, big.url, `tickertape_clients{transport="sse"}`, func(v float64) bool { return v == 0 })
	if resp, body := sse.Get(t, big.url+"/healthz"); resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("after vanishing clients: %s %s", resp.Status, body)
	}
}

// Slowloris: a client that sends its headers a byte at a time is cut at
// -read-header-timeout, while a stream open for longer than that (and
// longer than -idle-timeout) goes on.
func TestSlowHeadersCutLiveStreamsNot(t *testing.T) {
	sse.OnBothPaths(t, testSlowHeadersCutLiveStreamsNot)
}

func testSlowHeadersCutLiveStreamsNot(t *testing.T, p sse.Path) {
	s := startServerOn(t, p, nil, "-read-header-timeout", "300ms", "-idle-timeout", "300ms", "-rate", "100")
	c := s.open(t, "/events?events=market")
	c.Next(t)

	start := time.Now()      // before the server can start its header timer
	conn := s.dial(t, 0, "") // on HTTPS, HTTP/1.1 over TLS: the headers are written by hand
	io.WriteString(conn, "GET /events HTTP/1.1\r\nHost: x\r\n")
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	// Keep trickling header bytes; the server must hang up on us.
	cut := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(conn)
		cut <- err
	}()
	for i := 0; ; i++ {
		select {
		case err := <-cut:
			// A close with our trickled bytes still unread in the server's
			// socket is a reset, not a FIN: both are the server hanging up.
			// Only our own read deadline means it did not.
			if err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("slow client: %v, want the server to close the connection", err)
			}
			// The live stream, open all this while, still delivers.
			if time.Since(start) < 300*time.Millisecond {
				t.Fatalf("cut after %s, before the timeout", time.Since(start))
			}
			for range 2 {
				if ev := c.Next(t); ev.Name != "market" {
					t.Fatalf("live stream after the timeouts: %s", ev.Name)
				}
			}
			return
		case <-time.After(50 * time.Millisecond): // the trickle's pace
			if _, err := fmt.Fprintf(conn, "X-%d: y\r\n", i); err != nil {
				continue // the server may have closed already
			}
		}
	}
}
