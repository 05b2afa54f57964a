package compare

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/coder/websocket"

	"tickertape/feed"
)

// readLimit bounds one message from a client. Clients send nothing
// (docs/API.md); whatever they send is read and dropped, and anything larger
// than this closes the connection.
const readLimit = 4 << 10

// closeWait bounds the close handshake at shutdown.
const closeWait = time.Second

// Handler serves GET /ws: docs/API.md's WebSocket twin of /events. It admits
// the stream through hub (same query and 400s as /events, as JSON, before
// the upgrade; a 503 past the stream limit, where /events says "later"
// with a 200), refuses an Origin that is neither the request's own host
// nor one of allowedOrigins (the server's -cors-origins: full origins such
// as "https://app.example.com", path.Match patterns such as
// "https://*.example.com", or "*" for any), checks the handshake itself
// (checkHandshake: a broken one gets JSON too), then delivers the very
// subscription /events would, one text message per event.
func Handler(hub *feed.Hub, allowedOrigins []string) http.Handler {
	anyOrigin := false
	var patterns []string
	for _, o := range allowedOrigins {
		if o == "*" {
			anyOrigin = true
			continue
		}
		patterns = append(patterns, o)
	}
	timeout := hub.WriteTimeout()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !anyOrigin {
			if err := checkOrigin(r, patterns); err != nil {
				hub.Reject(w, &feed.RequestError{Status: http.StatusForbidden, Message: err.Error()})
				return
			}
		}
		st, err := hub.Open(r, feed.WS)
		if err != nil {
			feed.WriteError(w, err)
			return
		}
		handed := false // to the hub's writers, who close the stream
		defer func() {
			if !handed {
				st.Close()
			}
		}()
		if err := checkHandshake(w, r); err != nil {
			hub.Reject(w, err)
			return
		}
		cw := &corkWriter{ResponseWriter: w, timeout: timeout, direct: r.TLS == nil}
		c, err := websocket.Accept(cw, r, &websocket.AcceptOptions{
			// The origin was checked above, with the same rule and a JSON
			// answer; Accept would only check it again.
			InsecureSkipVerify: true,
			// Off, so both transports do the same work per event; see the
			// README's "SSE or WebSocket?" for what compression would change.
			CompressionMode: websocket.CompressionDisabled,
			OnPongReceived:  func(context.Context, []byte) { st.Pong() },
		})
		if err != nil {
			return // Accept has answered the client
		}
		// A shutdown out of time closes the socket under any write. The
		// closure holds the connection alone: the corkWriter would keep
		// net/http's response, and with it the request and its buffers
		// (about 10 KiB), for as long as the stream lives.
		nc := cw.conn.Conn
		st.OnCut(func() { nc.Close() })
		c.SetReadLimit(readLimit)
		if cw.direct {
			handed = true
			serveOnWriters(st, c, cw.conn)
			return
		}
		defer c.CloseNow()

		// The client sends nothing, but someone must read: pongs and the
		// close handshake arrive on the read side. A read error (the
		// client went away) cancels the stream.
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		readDone := make(chan struct{})
		go func() {
			defer close(readDone)
			defer cancel()
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
			}
		}()

		ww := &wsWriter{c: c, conn: cw.conn, ctx: ctx, timeout: timeout}
		err = st.Run(ctx, ww)
		if errors.Is(err, feed.ErrClosed) {
			closeGoingAway(c, cw.conn)
		}
		c.CloseNow()
		<-readDone
	})
}

// closeGoingAway closes c with 1001 at shutdown, so the client reconnects,
// to us or to another node. The handshake may take a second; a client
// that does not answer must not hold up the server's exit (the library
// would wait up to 10 s).
func closeGoingAway(c *websocket.Conn, conn *corkConn) {
	closed := make(chan struct{})
	go func() {
		c.Close(websocket.StatusGoingAway, "server shutting down")
		close(closed)
	}()
	t := time.NewTimer(closeWait)
	select {
	case <-closed:
	case <-t.C:
		// CloseNow would wait for Close; closing the socket under it ends
		// the handshake's wait at once.
		conn.Conn.Close()
		<-closed
	}
	t.Stop()
}

// isUpgrade reports whether r asks for a WebSocket upgrade.
func isUpgrade(r *http.Request) bool {
	return headerHas(r.Header, "Connection", "upgrade") && headerHas(r.Header, "Upgrade", "websocket")
}

func headerHas(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// checkOrigin allows a request with no Origin (not a browser), one from the
// request's own host, and one that matches a pattern (as coder/websocket's
// OriginPatterns: a pattern with "://" is matched against scheme://host,
// one without against the host alone).
func checkOrigin(r *http.Request, patterns []string) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return errors.New("Origin " + origin + " is not a valid origin")
	}
	if strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return nil
		}
	}
	return errors.New("Origin " + origin + " is not allowed; the server allows its own origin and those named in -cors-origins")
}

// wsWriter is the WebSocket side of a subscription: one text message per
// event, the batch corked into one write under one deadline. The stream
// counts what it writes.
type wsWriter struct {
	c       *websocket.Conn
	conn    *corkConn
	ctx     context.Context
	timeout time.Duration
}

func (w *wsWriter) WriteBatch(msgs [][]byte) error {
	// Corked, the messages only frame into memory; the socket sees one
	// write, under one deadline, as the SSE batch does. No context timer
	// per message: framing into memory does not block, and a control
	// frame that holds the write lock is itself under a deadline.
	deadline := time.Now().Add(w.timeout)
	w.conn.cork()
	for _, m := range msgs {
		if err := w.c.Write(context.Background(), websocket.MessageText, m); err != nil {
			w.conn.uncork(deadline)
			return err
		}
	}
	return w.conn.uncork(deadline)
}

func (w *wsWriter) Heartbeat() error {
	ctx, cancel := context.WithTimeout(w.ctx, w.timeout)
	defer cancel()
	return w.c.Ping(ctx)
}
