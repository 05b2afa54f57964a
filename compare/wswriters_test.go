package compare_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"tickertape/compare"
	"tickertape/feed"
	"tickertape/internal/sse"
)

// newHub returns a hub over a log of syms, and its metrics' registry.
func newHub(t *testing.T, syms []string, opts feed.Options) (*feed.Hub, *prometheus.Registry) {
	t.Helper()
	log, err := feed.NewLog(syms, 1000, 1000)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	opts.Metrics = feed.NewMetrics(reg)
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	hub := feed.NewHub(log, opts)
	t.Cleanup(func() {
		log.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := hub.Wait(ctx); err != nil {
			t.Errorf("streams still open: %v", err)
		}
	})
	return hub, reg
}

func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// A WebSocket client that reads but never answers a ping is a stuck
// client: the writers drop it after the write timeout, as a write that
// blocked, and close its connection.
func TestUnansweredPingsDrop(t *testing.T) {
	t.Parallel()
	hub, reg := newHub(t, []string{"AAPL"}, feed.Options{Heartbeat: 100 * time.Millisecond, WriteTimeout: 300 * time.Millisecond})
	srv := httptest.NewServer(compare.Handler(hub, nil))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /?events=market HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	pings := 0
	for {
		op, _, err := readFrame(br)
		if err != nil {
			if pings == 0 {
				t.Fatalf("the connection ended (%v) before any ping", err)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset") {
				break
			}
			t.Fatalf("reading: %v, want the server to close the connection", err)
		}
		if op == 0x9 {
			pings++ // and no pong
		}
		if op == 0x8 {
			break
		}
	}
	// The drop is counted as the stream is released, just after the close.
	deadline := time.Now().Add(10 * time.Second)
	for counter(t, reg, "tickertape_streams_dropped_total", map[string]string{"transport": "ws", "cause": "write_timeout"}) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the stuck client's drop was not counted as a write timeout")
		}
		time.Sleep(10 * time.Millisecond) // polling an outside view, not synchronising
	}
}

// readFrame reads one unmasked frame from a server.
func readFrame(br *bufio.Reader) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(br, payload)
	return h[0] & 0x0f, payload, err
}

// Over TLS, where the writers cannot own the socket, both transports keep
// their own goroutines (net/http's HTTP/2 for SSE, the library's writes for
// WebSocket): a resume gives both the same events, and a shutdown ends
// both as on the writers (1001 for the WebSocket, a finished response for
// SSE).
func TestTLSPath(t *testing.T) {
	t.Parallel()
	hub, _ := newHub(t, []string{"AAPL", "MSFT"}, feed.Options{})
	mux := http.NewServeMux()
	mux.Handle("GET /events", hub.SSEHandler())
	mux.Handle("GET /ws", compare.Handler(hub, nil))
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	log := hub.Log()
	publish(t, log, []string{"AAPL", "MSFT"}, 30, 10)
	after := log.Newest() - 10

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := "?symbols=MSFT&lastEventId=" + strconv.FormatUint(after, 10)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/events"+q, nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("SSE over %s, want HTTP/2", resp.Proto)
	}
	sr := feed.NewReader(resp.Body)
	h1 := srv.Client().Transport.(*http.Transport).Clone()
	h1.TLSClientConfig.NextProtos = []string{"http/1.1"}
	h1.ForceAttemptHTTP2 = false
	h1.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	ws := openWS(t, ctx, wsURL(srv.URL)+"/ws"+q, &websocket.DialOptions{HTTPClient: &http.Client{Transport: h1}})
	for i := range 5 { // MSFT's 5 of the last 10
		a, err := sr.Next()
		if err != nil {
			t.Fatalf("event %d: SSE: %v", i, err)
		}
		b := ws.next(t, ctx)
		if a != b || a.Name != "quote" || sse.ID(t, a) <= after {
			t.Fatalf("event %d: SSE %+v, WS %+v", i, a, b)
		}
	}
	log.Close()
	if e, err := sr.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("SSE after close: %+v %v, want the end of the response", e, err)
	}
	if _, _, err := ws.c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("WS after close: %v, want 1001", err)
	}
}
