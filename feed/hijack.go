package feed

import (
	"errors"
	"net"
	"net/http"
	"syscall"
)

// A plaintext HTTP/1.1 event stream leaves net/http once its headers are
// written: the connection is hijacked, net/http's buffers and goroutine go,
// and the hub's writers own the socket (writers.go). The response goes on
// as net/http began it, chunked, with one chunk per event as the log framed
// it, and ends with the last chunk, so that a client (and nginx between)
// sees a finished response when the server shuts down.
//
// Where that cannot apply, the stream stays with net/http, on a goroutine
// of its own: HTTP/2, TLS, HTTP/1.0 (no chunking), HEAD, a throttled
// stream (its ticks are Subscription.Run's), and a ResponseWriter that
// cannot hijack (middleware that hides the connection).
// Both paths run the same subscription.

var (
	heartbeatChunk = appendChunk(nil, heartbeat)
	goodbyeChunks  = append(appendChunk(nil, shuttingDown), lastChunk...)
)

// hijackSSE hands st to the hub's writers if its connection can be taken
// from net/http, after the headers. It reports whether it did; then the
// stream is theirs (they close it). retry is the chunk to send first.
func (h *Hub) hijackSSE(w http.ResponseWriter, r *http.Request, st *Stream, retry []byte, retryLen int) bool {
	if r.Method != http.MethodGet || r.ProtoMajor != 1 || r.ProtoMinor < 1 || r.TLS != nil {
		return false
	}
	if st.sub.filter.Throttle > 0 {
		// A throttled stream stays on its goroutine: Subscription.Run
		// delivers it at its ticks only, from the newest state.
		return false
	}
	nc, _, err := http.NewResponseController(w).Hijack()
	if errors.Is(err, http.ErrNotSupported) {
		return false
	}
	if err != nil {
		st.Close() // hijacked and failed: nothing more can be written
		return true
	}
	// The bufio pair goes: a stream reads nothing more from its client,
	// and writes through nothing but the socket.
	st.OnCut(func() { nc.Close() }) // a shutdown out of time closes the socket under any write
	wire := Wire{Conn: nc, Ping: heartbeatChunk, goodbye: goodbyeChunks, watchHangup: true}
	h.writers.serve(st, wire, [][]byte{retry}, batch{payload: retryLen})
	return true
}

// closeQuietly closes a connection whose response is over: what the client
// sent and nobody read is drained first, since closing a socket with
// unread input answers with a reset (RST) instead of a clean end (FIN).
func closeQuietly(nc net.Conn) {
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			drainNonblocking(rc)
		}
	}
	nc.Close()
}
