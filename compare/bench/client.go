package bench

import (
	"bufio"
	"bytes"
	"context"
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
	events atomic.Int64 // events received, snapshot and resets included
	bytes  atomic.Int64 // bytes read from the socket: headers, framing, payload
	failed atomic.Bool  // the client's run ended with an error

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

// errHTTPS: the SSE client speaks plain HTTP/1.1 on a raw connection, so
// that every byte on the wire is counted and a client costs one goroutine.
var errHTTPS = errors.New("compare: bench clients speak plain http:// only")

// runSSE connects to base's /events with a raw TCP connection, writes the
// request itself and parses the stream with feed.Reader. ready is called
// after the first event (the snapshot); run returns when ctx is done or
// the stream fails.
func (cl *client) runSSE(ctx context.Context, base *url.URL, ready func()) error {
	if base.Scheme != "http" {
		return errHTTPS
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", hostPort(base))
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	req := "GET " + base.Path + "/events HTTP/1.1\r\nHost: " + base.Host +
		"\r\nAccept: text/event-stream\r\nUser-Agent: tickertape-bench\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return err
	}
	br := bufio.NewReaderSize(countingConn{conn, &cl.bytes}, 32<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET /events: %s %s", resp.Status, bytes.TrimSpace(b))
	}
	r := feed.NewReader(resp.Body)
	for {
		e, err := r.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		id := e.ID
		if e.Name == feed.EventReset {
			id = "" // the reader keeps the last id in force; a reset has none
		}
		cl.event(e.Name, id, e.Data)
		if ready != nil {
			ready()
			ready = nil
		}
	}
}

// runWS is runSSE's twin on /ws, with coder/websocket's client over a
// connection that counts what it reads.
func (cl *client) runWS(ctx context.Context, base *url.URL, ready func()) error {
	if base.Scheme != "http" {
		return errHTTPS
	}
	var d net.Dialer
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{c, &cl.bytes}, nil
		},
		DisableKeepAlives: true,
	}}
	u := *base
	u.Scheme = "ws"
	u.Path += "/ws"
	c, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		if resp != nil {
			return fmt.Errorf("GET /ws: %s: %w", resp.Status, err)
		}
		return err
	}
	defer c.CloseNow()
	c.SetReadLimit(64 << 20) // a snapshot of a large universe
	// Reads take a context with no Done channel, which spares a timer per
	// message; the end of ctx closes the connection instead.
	stop := context.AfterFunc(ctx, func() { c.CloseNow() })
	defer stop()
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
			return err
		}
		cl.event(name, id, data)
		if ready != nil {
			ready()
			ready = nil
		}
	}
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
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

// event accounts for one event: its latency (quotes), and the id sequence
// (an unfiltered stream's ids run without a gap; a reset and its snapshot
// may jump).
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
		case n > cl.lastID+1:
			cl.gaps += int64(n - cl.lastID - 1)
		}
		cl.lastID = max(cl.lastID, n)
	}
	if name == "quote" {
		if ts, ok := tsOf(data); ok {
			now := float64(time.Now().UnixMicro()) / 1000
			us := (now - ts) * 1000
			cl.hist.record(uint64(max(us, 0)))
		}
	}
}

// tsOf finds the top-level "ts" of an event's data: the feed's quotes end
// with it, so the last one is the one.
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
	return ts, err == nil
}
