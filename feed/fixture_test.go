package feed

// The fixture of the package's own tests of the delivery core (writers,
// interest, snapshots, scale): a hub served on both paths, hijacked
// HTTP/1.1 and HTTP/2 over TLS. The API tests are in package feed_test.

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// A child of TestIdleStreamsHeap runs only its clients (before TestMain).
func init() {
	if spec := os.Getenv(streamClientsEnv); spec != "" {
		os.Exit(streamClients(spec))
	}
}

type fixture struct {
	log     *Log
	hub     *Hub
	srv     *httptest.Server
	reg     *prometheus.Registry
	path    path
	client  *http.Client
	streams int // streams opened with openStream
}

// path is one of the two ways a stream is served: hijacked HTTP/1.1, owned
// by the hub's writers, or HTTP/2 over TLS, on net/http's goroutine.
type path string

const (
	hijacked path = "hijacked"
	h2TLS    path = "h2"
)

// onBothPaths runs a stream test against both paths.
func onBothPaths(t *testing.T, test func(t *testing.T, p path)) {
	for _, p := range []path{hijacked, h2TLS} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			test(t, p)
		})
	}
}

func newFixture(t *testing.T, p path, size int, opts Options) *fixture {
	t.Helper()
	l, h, reg := NewTestHub(t, size, opts)
	f := &fixture{log: l, hub: h, reg: reg, path: p}
	if p == h2TLS {
		f.srv = httptest.NewUnstartedServer(h.SSEHandler())
		f.srv.EnableHTTP2 = true
		f.srv.StartTLS()
		f.client = f.srv.Client()
	} else {
		f.srv = httptest.NewServer(h.SSEHandler())
		f.client = &http.Client{Transport: &http.Transport{}}
	}
	t.Cleanup(func() {
		l.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.Wait(ctx); err != nil {
			t.Errorf("streams still open after the log closed: %v", err)
		}
		f.srv.Close()
		f.client.CloseIdleConnections()
		if p == hijacked && !t.Failed() && h.writers.served.Load() == 0 && f.streams > 0 {
			t.Error("no stream was hijacked on the hijacked path")
		}
	})
	return f
}

// rawStream opens a stream on a raw connection that reads nothing until
// the test does: a client as slow as the test wants it. On the h2 path it
// speaks HTTP/1.1 over TLS, which net/http serves on its own goroutine too.
func (f *fixture) rawStream(t *testing.T) net.Conn {
	t.Helper()
	var conn net.Conn
	var err error
	if f.path == h2TLS {
		cfg := f.srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
		cfg.NextProtos = []string{"http/1.1"}
		conn, err = tls.Dial("tcp", f.srv.Listener.Addr().String(), cfg)
	} else {
		conn, err = net.Dial("tcp", f.srv.Listener.Addr().String())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	return conn
}

// stream is a test client of /events.
type stream struct {
	resp *http.Response
	r    *Reader
}

func (f *fixture) openStream(t *testing.T, query string, hdr http.Header) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	url := f.srv.URL + query
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	if want := map[path]int{hijacked: 1, h2TLS: 2}[f.path]; resp.ProtoMajor != want {
		t.Fatalf("GET %s: %s on the %s path", url, resp.Proto, f.path)
	}
	f.streams++
	return &stream{resp: resp, r: NewReader(resp.Body)}
}

func (s *stream) next(t *testing.T) Event {
	t.Helper()
	ev, err := s.r.Next()
	if err != nil {
		t.Fatalf("reading stream: %v", err)
	}
	return ev
}

func id(t *testing.T, ev Event) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(ev.ID, 10, 64)
	if err != nil {
		t.Fatalf("event %s has id %q: %v", ev.Name, ev.ID, err)
	}
	return n
}
