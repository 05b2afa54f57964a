package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"tickertape/feed"
)

// client is one bench client: a connection, a reader, and what it saw.
// The counters are read by the runner while the client runs; the rest is
// owned by the client's goroutine until it returns.
type client struct {
	events    atomic.Int64 // events received, snapshot and resets included
	bytes     atomic.Int64 // bytes read from its socket (not for HTTP/2: its connection's group counts)
	connected atomic.Bool  // the response headers (or the WebSocket handshake) are in
	failed    atomic.Bool  // the client's run ended with an error

	// Set before the client starts, then read-only.
	measure   *atomic.Bool // latencies are recorded while it is set: the window
	checkGaps bool         // the stream is unfiltered, so its ids run without a gap

	hist   histogram
	gaps   int64 // ids skipped between two market events
	dups   int64 // market events whose id was not above the last
	resets int64
	lastID uint64
}

// countingConn counts every byte read from the socket.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// tlsFor returns the TLS configuration of a connection to u: roots trusts
// a bench server's own certificate (nil: the system's), and protos are
// offered by ALPN.
func tlsFor(u *url.URL, roots *x509.CertPool, protos ...string) *tls.Config {
	return &tls.Config{ServerName: u.Hostname(), RootCAs: roots, NextProtos: protos, MinVersion: tls.VersionTLS12}
}

// runSSE reads the stream at u (http:// or https://) over HTTP/1.1 on a
// raw connection: it writes the request itself and parses the stream with
// feed.Reader, so that every byte on the wire is counted (TLS records
// included) and a client costs one goroutine. ready is called once the
// response headers are in; run returns when ctx is done or the stream
// fails.
func (cl *client) runSSE(ctx context.Context, u *url.URL, roots *x509.CertPool, ready func()) error {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", hostPort(u))
	if err != nil {
		return err
	}
	var conn net.Conn = countingConn{raw, &cl.bytes}
	if u.Scheme == "https" {
		tc := tls.Client(conn, tlsFor(u, roots, "http/1.1"))
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return err
		}
		conn = tc
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nAccept: text/event-stream\r\nUser-Agent: tickertape-bench\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return err
	}
	// The event reader buffers on its own: this buffer only has to hold
	// the response's headers.
	br := bufio.NewReaderSize(conn, 4<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return cl.readSSE(ctx, resp, ready)
}

// runSSEH2 reads the stream at u as one HTTP/2 stream of cc, a connection
// that other clients share.
func (cl *client) runSSEH2(ctx context.Context, cc *http.ClientConn, u *url.URL, ready func()) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", "tickertape-bench")
	resp, err := cc.RoundTrip(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		return fmt.Errorf("GET %s: answered over %s, not HTTP/2", u.Path, resp.Proto)
	}
	return cl.readSSE(ctx, resp, ready)
}

func (cl *client) readSSE(ctx context.Context, resp *http.Response, ready func()) error {
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s %s", resp.Request.URL.Path, resp.Status, bytes.TrimSpace(b))
	}
	cl.connected.Store(true)
	ready()
	r := feed.NewReader(resp.Body)
	for {
		e, err := r.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if err == io.EOF {
				return errors.New("the server ended the stream")
			}
			return err
		}
		id := e.ID
		if e.Name == feed.EventReset {
			id = "" // the reader keeps the last id in force; a reset has none
		}
		cl.event(e.Name, id, e.Data)
	}
}

// runWS is runSSE's twin for a WebSocket stream (ws:// or wss://, always
// HTTP/1.1, as browsers open them), with coder/websocket's client over a
// connection that counts what it reads. A message is tickertape's envelope
// ({"event","id","data"}) or, from another server, the event's data.
func (cl *client) runWS(ctx context.Context, u *url.URL, roots *x509.CertPool, ready func()) error {
	var d net.Dialer
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{c, &cl.bytes}, nil
		},
		DisableKeepAlives: true,
	}
	if u.Scheme == "wss" {
		tr.TLSClientConfig = tlsFor(u, roots, "http/1.1")
	}
	c, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		if resp != nil {
			return fmt.Errorf("GET %s: %s: %w", u.Path, resp.Status, err)
		}
		return err
	}
	defer c.CloseNow()
	c.SetReadLimit(64 << 20) // a snapshot of a large universe
	// Reads take a context with no Done channel, which spares a timer per
	// message; the end of ctx closes the connection instead.
	stop := context.AfterFunc(ctx, func() { c.CloseNow() })
	defer stop()
	cl.connected.Store(true)
	ready()
	var buf bytes.Buffer
	for {
		_, r, err := c.Reader(context.Background())
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		name, id, data, err := parseEnvelope(buf.Bytes())
		if err != nil {
			// Not tickertape's envelope: another server's message is the
			// event's data itself.
			name, id, data = "message", "", buf.String()
		}
		cl.event(name, id, data)
	}
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" || u.Scheme == "wss" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// parseEnvelope reads {"event":NAME,"id":"ID","data":DATA}. The fast path
// takes the layout the feed writes; anything else goes through
// encoding/json.
func parseEnvelope(b []byte) (name, id, data string, err error) {
	s := string(b)
	if rest, ok := strings.CutPrefix(s, `{"event":"`); ok {
		// A name with an escape (never one of the feed's) goes the slow way.
		if i := strings.IndexByte(rest, '"'); i > 0 && strings.IndexByte(rest[:i], '\\') < 0 {
			name, rest = rest[:i], rest[i:]
			if r2, ok := strings.CutPrefix(rest, `","id":"`); ok {
				if j := strings.IndexByte(r2, '"'); j > 0 {
					id, rest = r2[:j], r2[j:]
				}
			}
			if d, ok := strings.CutPrefix(rest, `","data":`); ok && strings.HasSuffix(d, "}") {
				return name, id, d[:len(d)-1], nil
			}
		}
	}
	var env struct {
		Event string          `json:"event"`
		ID    string          `json:"id"`
		Data  json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil || env.Event == "" {
		return "", "", "", fmt.Errorf("compare: not an event envelope: %.80q", b)
	}
	return env.Event, env.ID, string(env.Data), nil
}

// event accounts for one event: its latency, when its data has a ts, and
// the id sequence (an unfiltered stream's ids run without a gap; a reset
// and its snapshot may jump).
func (cl *client) event(name, id, data string) {
	cl.events.Add(1)
	switch name {
	case feed.EventReset:
		cl.resets++
		cl.lastID = 0
		return
	case feed.EventSnapshot:
		if n, err := strconv.ParseUint(id, 10, 64); err == nil {
			cl.lastID = n
		}
		return
	}
	if n, err := strconv.ParseUint(id, 10, 64); err == nil {
		switch {
		case cl.lastID == 0:
		case n <= cl.lastID:
			cl.dups++
		case n > cl.lastID+1 && cl.checkGaps:
			cl.gaps += int64(n - cl.lastID - 1)
		}
		cl.lastID = max(cl.lastID, n)
	}
	if cl.measure.Load() {
		if ts, ok := tsOf(data); ok {
			now := float64(time.Now().UnixMicro()) / 1000
			us := (now - ts) * 1000
			cl.hist.record(uint64(max(us, 0)))
		}
	}
}

// tsOf finds the top-level "ts" of an event's data, in Unix milliseconds:
// the feed's events end with it, so the last one is the one. A ts in
// seconds, microseconds or nanoseconds (told apart by its size) is
// converted, so that another server's events are read the same way.
func tsOf(data string) (float64, bool) {
	i := strings.LastIndex(data, `"ts":`)
	if i < 0 {
		return 0, false
	}
	rest := data[i+5:]
	j := strings.IndexAny(rest, ",}")
	if j < 0 {
		return 0, false
	}
	ts, err := strconv.ParseFloat(strings.TrimSpace(rest[:j]), 64)
	if err != nil || ts <= 0 {
		return 0, false
	}
	switch {
	case ts > 1e17: // ns
		ts /= 1e6
	case ts > 1e14: // µs
		ts /= 1e3
	case ts < 1e11: // s
		ts *= 1e3
	}
	return ts, true
}
