package sse

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Path is one of the two ways tickertape serves an event stream. Every
// stream test runs on both ([OnBothPaths]): they share one subscription,
// and must not differ in anything a client sees.
type Path string

const (
	// Hijacked is plaintext HTTP/1.1: the connection is taken from
	// net/http after the headers and the hub's writers own it.
	Hijacked Path = "hijacked"
	// HTTP2 is HTTP/2 over TLS: net/http keeps the stream, on a
	// goroutine of its own.
	HTTP2 Path = "h2"
)

// Paths returns both paths, in the order the tests run them.
func Paths() []Path { return []Path{Hijacked, HTTP2} }

// OnBothPaths runs test once on each path, as parallel subtests named
// after it.
func OnBothPaths(t *testing.T, test func(t *testing.T, p Path)) {
	t.Helper()
	for _, p := range Paths() {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			test(t, p)
		})
	}
}

// Served is one handler on an httptest server, on one path, with a client
// that speaks that path's protocol.
type Served struct {
	URL  string
	Path Path
	// Client speaks HTTP/1.1 (a connection per open stream) on the
	// hijacked path, and HTTP/2 (every stream on one connection) on the
	// other; it trusts the server's certificate.
	Client *http.Client

	srv *httptest.Server
}

// Serve starts h on path p. The server is closed at the end of the test,
// after the cleanups the test registers later (which may end its streams
// first, as closing a log does).
func Serve(t testing.TB, p Path, h http.Handler) *Served {
	t.Helper()
	s := &Served{Path: p}
	switch p {
	case HTTP2:
		s.srv = httptest.NewUnstartedServer(h)
		s.srv.EnableHTTP2 = true
		s.srv.StartTLS()
		s.Client = s.srv.Client()
	case Hijacked:
		s.srv = httptest.NewServer(h)
		s.Client = &http.Client{Transport: &http.Transport{}}
	default:
		t.Fatalf("no path %q", p)
	}
	s.URL = s.srv.URL
	t.Cleanup(func() {
		s.Client.CloseIdleConnections()
		s.srv.Close()
	})
	return s
}

// Open opens the stream at target (a path and query on the server) with
// the server's client, as [Open] does, and fails the test unless it came
// over the path's protocol.
func (s *Served) Open(t testing.TB, target string, hdr ...string) *Client {
	t.Helper()
	c := Open(t, s.Client, s.URL+target, hdr...)
	s.checkProto(t, c.Response)
	return c
}

// Stalled opens the stream at target on a connection of its own, whose
// body nobody reads until the test does: a client as slow as the test
// wants it. Its socket and, on HTTP/2, its flow-control window fill as
// they would for a client that stopped reading.
func (s *Served) Stalled(t testing.TB, target string, hdr ...string) *Client {
	t.Helper()
	tr := &http.Transport{}
	if s.Path == HTTP2 {
		tr = s.srv.Client().Transport.(*http.Transport).Clone()
	}
	t.Cleanup(tr.CloseIdleConnections)
	c := Open(t, &http.Client{Transport: tr}, s.URL+target, hdr...)
	s.checkProto(t, c.Response)
	return c
}

func (s *Served) checkProto(t testing.TB, resp *http.Response) {
	t.Helper()
	want := 1
	if s.Path == HTTP2 {
		want = 2
	}
	if resp.ProtoMajor != want {
		t.Fatalf("GET %s: %s on the %s path", resp.Request.URL, resp.Proto, s.Path)
	}
}

// Get makes a GET request of target with the header pairs hdr through the
// server's client, and returns the response and its whole body, as [Get].
func (s *Served) Get(t testing.TB, target string, hdr ...string) (*http.Response, string) {
	t.Helper()
	return do(t, s.Client, newGet(t, s.URL+target, hdr))
}
