package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"tickertape/feed"
)

// TestH2: a side with HTTP2 reads its SSE streams over HTTP/2, several
// streams sharing one connection, as a browser does: the server sees every
// request as HTTP/2, from one connection per StreamsPerConn streams.
func TestH2(t *testing.T) {
	t.Parallel()
	cert, err := NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	protos := map[string]int{}  // request protocol → requests
	streams := map[string]int{} // client address (a connection) → streams
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/events" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		protos[r.Proto]++
		streams[r.RemoteAddr]++
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for id := 1; ; id++ {
			select {
			case <-r.Context().Done():
				return
			case now := <-tick.C:
				fmt.Fprintf(w, "id: %d\nevent: quote\ndata: {\"symbol\":\"A\",\"ts\":%d.%03d}\n\n", id, now.UnixMilli(), now.UnixMicro()%1000)
				if rc.Flush() != nil {
					return
				}
			}
		}
	}))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	srv.StartTLS()
	defer srv.Close()

	side := Side{Label: "SSE over HTTP/2", Transport: feed.SSE, HTTP2: true, StreamsPerConn: 4,
		Start: func(context.Context) (Target, error) { return Target{URL: srv.URL, RootCAs: cert.Pool}, nil }}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, Config{Clients: 10, Duration: 500 * time.Millisecond, Sides: []Side{side}})
	if err != nil {
		t.Fatal(err)
	}
	tr := res.Transports[0]
	if tr.ClientsHeld != 10 || tr.Errors != 0 || tr.EventsPerSec <= 0 {
		t.Errorf("held %d, %d errors (%s), %v events/s; want 10, none, some", tr.ClientsHeld, tr.Errors, tr.FirstError, tr.EventsPerSec)
	}
	if tr.Protocol != "HTTP/2 (TLS)" || tr.Connections != 3 {
		t.Errorf("protocol %q over %d connections; want HTTP/2 (TLS) over 3 (10 streams, 4 a connection)", tr.Protocol, tr.Connections)
	}
	if tr.LatencyP50Ms == nil || tr.BytesPerEvent <= 0 {
		t.Errorf("p50 %v, %v bytes per event; want both (a connection's bytes are counted)", tr.LatencyP50Ms, tr.BytesPerEvent)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(protos) != 1 || protos["HTTP/2.0"] != 10 {
		t.Errorf("requests by protocol %v; want 10 over HTTP/2.0", protos)
	}
	if len(streams) != 3 {
		t.Errorf("streams by connection %v; want 3 connections", streams)
	}
	for addr, n := range streams {
		if n > 4 {
			t.Errorf("%s carried %d streams; want at most 4", addr, n)
		}
	}
}
