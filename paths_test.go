package main

import (
	"cmp"
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

// The stream tests of this package run on both paths a stream can take
// (sse.Path): plaintext HTTP/1.1, whose streams the hub's writers take
// over, and HTTPS with HTTP/2, whose streams stay on net/http's
// goroutines. A server on the second has a test certificate, and a client
// that trusts it.

// reach is how a test speaks to a server: its base URL, and a client that
// speaks its protocol.
type reach struct {
	url    string       // http://host:port or https://host:port
	client *http.Client // nil: http.DefaultClient
	tls    *tls.Config  // for a raw connection to an HTTPS server; nil: plaintext
}

// pathArgs returns the flags that put a server on path p, and a reach
// without its URL.
func pathArgs(t *testing.T, p sse.Path) ([]string, reach) {
	t.Helper()
	if p == sse.Hijacked {
		return nil, reach{}
	}
	certFile, keyFile, pool := writeTestCert(t, t.TempDir())
	cfg := &tls.Config{RootCAs: pool}
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return []string{"-tls-cert", certFile, "-tls-key", keyFile}, reach{client: &http.Client{Transport: tr}, tls: cfg}
}

// startServerOn is startServer on path p.
func startServerOn(t *testing.T, p sse.Path, env map[string]string, args ...string) *server {
	t.Helper()
	flags, r := pathArgs(t, p)
	s := startServer(t, env, append(flags, args...)...)
	s.client, s.tls = r.client, r.tls
	return s
}

// startNodeOn is startNodeProcess on a free port, on path p.
func startNodeOn(t *testing.T, p sse.Path, args ...string) *nodeProcess {
	t.Helper()
	flags, r := pathArgs(t, p)
	n := startNodeProcess(t, "127.0.0.1:0", append(flags, args...)...)
	n.client, n.tls = r.client, r.tls
	return n
}

func (r reach) httpClient() *http.Client {
	if r.client == nil {
		return http.DefaultClient
	}
	return r.client
}

// host is the server's host:port.
func (r reach) host() string {
	return strings.TrimPrefix(strings.TrimPrefix(r.url, "http://"), "https://")
}

// open opens the stream at target (a path and query) through the
// server's client, and fails the test unless it came over the server's
// protocol: HTTP/1.1 in plaintext, HTTP/2 over TLS.
func (r reach) open(t *testing.T, target string, hdr ...string) *sse.Client {
	t.Helper()
	c := sse.Open(t, r.client, r.url+target, hdr...)
	if want := map[bool]int{false: 1, true: 2}[r.tls != nil]; c.Response.ProtoMajor != want {
		t.Fatalf("GET %s: %s", target, c.Response.Proto)
	}
	return c
}

// dial opens a raw connection to the server, in TLS on an HTTPS server,
// and closes it at the end of the test. On TLS it offers alpn ("": only
// HTTP/1.1, which a test can write by hand). readBuffer, if not 0, shrinks
// the socket's receive buffer first, so that a server's writes to a client
// that does not read block soon.
func (r reach) dial(t *testing.T, readBuffer int, alpn string) net.Conn {
	t.Helper()
	conn, err := r.dialConn(readBuffer, alpn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func (r reach) dialConn(readBuffer int, alpn string) (net.Conn, error) {
	tcp, err := net.Dial("tcp", r.host())
	if err != nil {
		return nil, err
	}
	if readBuffer > 0 {
		tcp.(*net.TCPConn).SetReadBuffer(readBuffer)
	}
	if r.tls == nil {
		return tcp, nil
	}
	cfg := r.tls.Clone()
	cfg.ServerName = "127.0.0.1"
	cfg.NextProtos = []string{cmp.Or(alpn, "http/1.1")}
	conn := tls.Client(tcp, cfg)
	if err := conn.Handshake(); err != nil {
		tcp.Close()
		return nil, err
	}
	return conn, nil
}

// stalled opens the stream at target on a connection of its own that
// never reads it, with a small receive buffer: a stuck client. On HTTPS
// it is an HTTP/2 stream, whose flow-control window (64 KiB, not the
// client's default 4 MiB) fills as a socket does; in plaintext, a request
// written by hand.
func (r reach) stalled(t *testing.T, target string) {
	t.Helper()
	if r.tls == nil {
		conn := r.dial(t, 4096, "")
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, r.host())
		return
	}
	tr := &http.Transport{ForceAttemptHTTP2: true, DialTLSContext: func(context.Context, string, string) (net.Conn, error) {
		return r.dialConn(4096, "h2")
	}, HTTP2: &http.HTTP2Config{MaxReceiveBufferPerConnection: 64 << 10, MaxReceiveBufferPerStream: 64 << 10}}
	t.Cleanup(tr.CloseIdleConnections) // after the stream's own cleanup, which ends it
	if c := sse.Open(t, &http.Client{Transport: tr}, r.url+target); c.Response.ProtoMajor != 2 {
		t.Fatalf("GET %s: %s", target, c.Response.Proto)
	}
}

// dialWS dials the server's /ws (wss: on HTTPS, over HTTP/1.1).
func (r reach) dialWS(ctx context.Context, t *testing.T) *websocket.Conn {
	t.Helper()
	var opts *websocket.DialOptions
	if r.tls != nil {
		tr := &http.Transport{TLSClientConfig: r.tls}
		t.Cleanup(tr.CloseIdleConnections)
		opts = &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}}
	}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(r.url, "http")+"/ws", opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// metric returns the value of one series on the server's /metrics, or -1.
func (r reach) metric(t *testing.T, series string) float64 {
	t.Helper()
	return metricVia(t, r.httpClient(), r.url, series)
}

// waitMetric polls the server's /metrics until series satisfies ok.
func (r reach) waitMetric(t *testing.T, series string, ok func(float64) bool) float64 {
	t.Helper()
	return waitMetricVia(t, r.httpClient(), r.url, series, ok)
}
