package compare

import (
	"context"

	"github.com/coder/websocket"

	"tickertape/feed"
)

// A WebSocket on plain TCP is served as a hijacked event stream is: the
// hub's writers own its socket and write each event's frame as the log
// made it (a server's frames are not masked, so the bytes are the same for
// every client), in one nonblocking write per wake-up, and its pings. The
// library did the handshake; it reads the client's control frames (pongs,
// the close) on a goroutine of the stream's own, and writes its own answers
// under the connection's lock, which the writers take too.

// pingFrame is an unmasked ping with no payload (RFC 6455, 5.5.2).
var pingFrame = []byte{0x89, 0x00}

// serveOnWriters hands st, accepted as c on conn, to the hub's writers,
// and starts the reader, which ends when the connection does (the writers
// close it when the stream ends). The handler returns, so that net/http's
// goroutine, its buffers and the request go: the reader is a goroutine of
// its own, whose stack is only what a read takes.
func serveOnWriters(st *feed.Stream, c *websocket.Conn, conn *corkConn) {
	st.Serve(feed.Wire{
		Conn:      conn.Conn,
		Mu:        &conn.mu,
		Ping:      pingFrame,
		AwaitPong: true,
		End: func(shutdown bool) {
			if shutdown {
				closeGoingAway(c, conn)
			}
			c.CloseNow()
		},
	})
	go readControl(st, c)
}

// readControl reads what the client sends: pongs and the close are handled
// by the library, anything else is dropped.
func readControl(st *feed.Stream, c *websocket.Conn) {
	for {
		if _, _, err := c.Read(context.Background()); err != nil {
			break
		}
	}
	st.Hangup() // the client went away, or the writers closed the connection
}
