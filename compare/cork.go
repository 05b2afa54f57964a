package compare

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// coder/websocket flushes every message to the socket on its own: one
// write system call per event. The SSE handler writes a whole batch in one
// call. So that both transports do the same work per batch (and the bench
// compares protocols, not flush policies), /ws hands Accept a connection
// that can be corked: during a batch the frames collect in memory, and
// uncork sends them in one write under one deadline.

// corkWriter is the ResponseWriter given to websocket.Accept: its Hijack
// returns a corkConn.
type corkWriter struct {
	http.ResponseWriter
	timeout time.Duration // for writes outside a batch
	// direct asks for a connection the hub's writers can own (plain TCP);
	// Hijack clears it if the connection is not one.
	direct bool
	conn   *corkConn // set by Hijack
}

// Buffers of a connection the hub's writers own: the library reads only
// the client's control frames through them, and writes only its own
// (pongs, the close), each at most 14+125 bytes, which must reach the
// socket in one write so that no event frame comes between its parts.
const (
	directReadBuf  = 16
	directWriteBuf = 256
)

func (w *corkWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &corkConn{Conn: c, timeout: w.timeout}
	if _, ok := c.(syscall.Conn); !ok || !w.direct {
		w.direct = false
		return w.conn, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(w.conn, 4096)), nil
	}
	// net/http's 4 kB reader goes; what it holds already (a client may
	// send right after its handshake) moves into the small one.
	n := brw.Reader.Buffered()
	held, _ := brw.Reader.Peek(n)
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(held)), w.conn), max(directReadBuf, n))
	if n > 0 {
		br.Peek(n)
	}
	return w.conn, bufio.NewReadWriter(br, bufio.NewWriterSize(w.conn, directWriteBuf)), nil
}

// corkConn holds writes while corked. Frames arrive whole and in order:
// the websocket.Conn writes one frame at a time.
type corkConn struct {
	net.Conn
	timeout time.Duration // set at construction

	// Guarded by mu. The writer goroutine corks and uncorks; the read
	// goroutine may write (pongs, the close reply) at any time.
	mu     sync.Mutex
	corked bool
	buf    []byte
}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	// A pong, a ping, a close frame: bounded like any write, so that a
	// client that stops reading cannot hold the connection's write lock.
	c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	n, err := c.Conn.Write(p)
	c.Conn.SetWriteDeadline(time.Time{})
	return n, err
}

func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork writes what was held, in one write that must finish by deadline.
func (c *corkConn) uncork(deadline time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	if len(c.buf) == 0 {
		return nil
	}
	c.Conn.SetWriteDeadline(deadline)
	_, err := c.Conn.Write(c.buf)
	c.Conn.SetWriteDeadline(time.Time{})
	c.buf = c.buf[:0]
	if cap(c.buf) > 64<<10 {
		c.buf = nil // a snapshot or a catch-up batch grew it; do not keep that per client
	}
	return err
}
