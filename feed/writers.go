package feed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A stream on a connection taken from net/http (a hijacked plaintext
// HTTP/1.1 response, or a WebSocket) costs its socket, a cursor and a
// filter, and nothing else while it keeps up: no goroutine, no buffer, no
// timer. A few writers, one per CPU, own such connections. When an event
// a connection's filter wants is appended, the log queues the connection
// on its writer (see interest.go); the writer takes what is owed and
// writes it in one nonblocking write, the frames as the log made them.
// Heartbeats come from a timer wheel per writer.
//
// A socket that cannot take the whole write (its client reads slowly, or
// not at all) moves the connection to a slow path: a goroutine of its own
// that writes the rest with a blocking write under the write deadline, and
// goes on writing until nothing is owed; then the connection goes back to
// its writer. A client that falls behind the ring there is lapped into a
// reset and a snapshot, as on every path; one that does not read at all
// is dropped at the deadline. The writer itself never waits for a client.

// Connection states. A connection is fast while its writer owns it, slow
// while a goroutine of its own writes to it, done when it has ended.
const (
	connSlow int32 = iota // the first: a connection starts on the goroutine that hands it over
	connFast
	connDone
)

// errHangup ends a stream whose client went away: no write failed; the
// drop is counted as client_gone.
var errHangup = errors.New("feed: client went away")

// Wire is a connection handed to the hub's writers, with what a transport
// needs them to know about it (see [Stream.Serve]).
type Wire struct {
	// Conn is the connection, taken from net/http. When it is a
	// syscall.Conn (plain TCP), the writers write to its socket directly
	// and without blocking; otherwise every write is a blocking one on a
	// goroutine of the stream's own.
	Conn net.Conn
	// Mu, if not nil, is held around every write the writers make, for a
	// transport that writes to Conn as well (WebSocket control frames).
	Mu *sync.Mutex
	// Ping is written after a quiet Heartbeat. With AwaitPong set, a
	// stream that is not answered ([Stream.Pong]) within the write
	// timeout is dropped, as a stuck client.
	Ping      []byte
	AwaitPong bool
	// End closes the connection when the stream ends. shutdown is true
	// when the log has closed: the transport says goodbye first (a
	// WebSocket closes with 1001). It is called once, on a goroutine of
	// its own when shutdown is true; the stream is released after it
	// returns. Without End, the writers close Conn themselves, having
	// drained what the client sent (so that the close is a FIN, not a
	// reset).
	End         func(shutdown bool)
	goodbye     []byte // SSE: written, and the response finished, at shutdown
	watchHangup bool   // SSE: nobody reads the socket; the pool watches it
}

// pool is a hub's writers. They start with the first connection handed
// over and end when the log closes, after ending their connections.
type pool struct {
	hub    *Hub
	start  sync.Once
	wg     sync.WaitGroup // the writer goroutines
	next   atomic.Uint32  // round robin over the writers
	served atomic.Int64   // connections handed over so far
	tick   time.Duration  // the wheel's tick
	epoch  time.Time      // clock zero for lastWrite

	writers []*writer
	metrics map[Transport]*connMetrics // by transport, made at start
	hangups hangups                    // sees hijacked event streams' clients leave
}

// connMetrics are one transport's series, looked up once. i is the
// transport's place in a writer's tally.
type connMetrics struct {
	i           int
	tr          Transport
	sent, bytes interface{ Add(float64) }
	batch       *BatchHistogram
	slow, back  interface{ Inc() }
}

// wheelSlots is the timer wheel's size; a heartbeat interval is 8 ticks,
// so a heartbeat goes out between 7/8 and 8/8 of it after the last write.
const (
	wheelSlots   = 16
	ticksPerBeat = 8
)

// coalesce is the shortest time between two passes of a writer over its
// ready connections.
const coalesce = time.Millisecond

func (p *pool) init(h *Hub) {
	p.start.Do(func() {
		p.hub = h
		p.tick = max(h.opts.Heartbeat/ticksPerBeat, time.Millisecond)
		p.epoch = time.Now()
		m := h.opts.Metrics
		p.metrics = map[Transport]*connMetrics{}
		for i, tr := range Transports() {
			t := tr.String()
			p.metrics[tr] = &connMetrics{i: i, tr: tr,
				sent: m.EventsSent.WithLabelValues(t), bytes: m.BytesSent.WithLabelValues(t),
				batch: m.Batch,
				slow:  m.SlowPath.WithLabelValues(t, "slow"), back: m.SlowPath.WithLabelValues(t, "back"),
			}
		}
		n := runtime.GOMAXPROCS(0)
		p.writers = make([]*writer, n)
		for i := range p.writers {
			w := &writer{pool: p, wake: make(chan struct{}, 1), raw: newRawWrite(),
				tally: make([]tally, len(p.metrics))}
			p.writers[i] = w
			p.wg.Add(1)
			go w.run()
		}
		p.hangups.start(p)
	})
}

func (p *pool) now() time.Duration { return time.Since(p.epoch) }

// hconn is a stream on a connection the hub's writers serve.
type hconn struct {
	// Set at construction, then read-only.
	st      *Stream
	sub     *Subscription
	w       *writer
	wire    Wire
	rc      syscall.RawConn // nil: no direct writes
	m       *connMetrics
	timeout time.Duration
	beat    time.Duration
	start   time.Duration // on the pool's clock

	queued atomic.Bool  // on the writer's ready list
	state  atomic.Int32 // connSlow, connFast, connDone
	hup    atomic.Bool  // the client went away
	ponged atomic.Bool  // the last ping was answered

	// Owned by whoever holds the connection: its writer while fast, its
	// own goroutine while slow.
	lastWrite time.Duration // on the pool's clock
	pingAt    time.Duration // when the unanswered ping went out, or 0
	events    int           // delivered so far, for the log line of a drop

	hupToken uint64 // its name in the pool's hang-up watcher, or 0

	// Owned by the writer goroutine.
	idx int // in writer.set, or -1
}

// serve hands a stream over: it writes prefix (pb is its count) and what
// the subscription owes now, on the calling goroutine (a slow start, under
// the write deadline, if the socket does not take it at once: a snapshot
// may be large), then gives the connection to a writer. A connection that
// cannot be written directly gets a goroutine of its own until the stream
// ends.
func (p *pool) serve(st *Stream, wire Wire, prefix [][]byte, pb batch) {
	p.init(st.hub)
	p.served.Add(1)
	c := &hconn{st: st, sub: st.sub, wire: wire, m: p.metrics[st.transport], idx: -1,
		timeout: p.hub.opts.WriteTimeout, beat: p.hub.opts.Heartbeat, start: p.now()}
	c.w = p.writers[int(p.next.Add(1))%len(p.writers)]
	// A throttled stream is served by Subscription.Run's ticks, on a
	// goroutine of its own, as on net/http's path: the writers hold no
	// timer of any stream's, and no throttled stream.
	if sc, ok := wire.Conn.(syscall.Conn); ok && st.sub.filter.Throttle <= 0 {
		if rc, err := sc.SyscallConn(); err == nil && direct(rc) {
			c.rc = rc
		}
	}
	c.state.Store(connSlow)
	c.ponged.Store(true)
	c.lastWrite = p.now()
	c.sub.wire = true
	if c.rc == nil {
		ctx, cancel := context.WithCancel(context.Background())
		st.stop = cancel // Hangup's, before the transport's reader starts
		go p.serveBlocking(ctx, c, prefix)
		return
	}
	if wire.watchHangup {
		p.hangups.watch(c)
	}
	c.sub.conn.Store(c)
	c.sub.startWatch()
	b := c.sub.take(prefix)
	b.payload += pb.payload
	n, err := c.tryWrite(newRawWrite(), b.msgs, false)
	switch {
	case err != nil:
		c.end(err)
	case n == size(b.msgs):
		c.lastWrite = p.now()
		c.counted(b)
		if !c.w.handBack(c) {
			c.end(ErrClosed)
		}
	default:
		c.slow(after(b.msgs, n), b, false)
	}
}

func size(msgs [][]byte) int {
	n := 0
	for _, m := range msgs {
		n += len(m)
	}
	return n
}

// after returns what is left of msgs once n bytes of them are written, as
// slices of the same frames (in a new list: msgs is often scratch).
func after(msgs [][]byte, n int) [][]byte {
	var rest [][]byte
	for _, m := range msgs {
		if n >= len(m) {
			n -= len(m)
			continue
		}
		rest = append(rest, m[n:])
		n = 0
	}
	return rest
}

// serveBlocking serves a connection the writers cannot write to directly
// (not a syscall.Conn) on the calling goroutine, as the net/http path does.
// Its context ends when the transport says the client went away.
func (p *pool) serveBlocking(ctx context.Context, c *hconn, prefix [][]byte) {
	defer c.st.stop()
	bw := &blockingWire{c: c}
	err := bw.write(prefix)
	if err == nil {
		err = c.st.Run(ctx, bw) // counts a drop itself
	}
	switch {
	case errors.Is(err, ErrClosed) && c.wire.goodbye != nil:
		bw.write([][]byte{c.wire.goodbye})
		c.close(false)
	case errors.Is(err, ErrClosed):
		c.close(true)
	default:
		c.close(false)
	}
	c.st.Close()
}

// blockingWire is a [Writer] on a connection with blocking writes.
type blockingWire struct {
	c    *hconn
	bufs net.Buffers
}

func (b *blockingWire) WriteBatch(msgs [][]byte) error { return b.write(msgs) }
func (b *blockingWire) Heartbeat() error               { return b.write([][]byte{b.c.wire.Ping}) }

func (b *blockingWire) write(msgs [][]byte) error {
	if len(msgs) == 0 {
		return nil
	}
	b.bufs = append(b.bufs[:0], msgs...)
	err := b.c.writeBlocking(&b.bufs)
	clear(b.bufs[:cap(b.bufs)])
	return err
}

// writeBlocking writes bufs under the write deadline, holding Mu if any.
func (c *hconn) writeBlocking(bufs *net.Buffers) error {
	if c.wire.Mu != nil {
		c.wire.Mu.Lock()
		defer c.wire.Mu.Unlock()
	}
	return c.writeDeadline(bufs)
}

func (c *hconn) writeDeadline(bufs *net.Buffers) error {
	// A per-write deadline, not a connection-wide one, which would cut a
	// healthy long-lived stream; cleared after, since a direct write
	// would fail on an expired one.
	if err := c.wire.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return err
	}
	_, err := bufs.WriteTo(c.wire.Conn)
	if derr := c.wire.Conn.SetWriteDeadline(time.Time{}); err == nil {
		err = derr
	}
	return err
}

// slow is the slow path: it writes rest (the part of a batch the socket
// did not take; b is that batch, counted once written), then whatever the
// subscription owes, with blocking writes under the deadline, until
// nothing is owed; then the connection goes back to its writer. locked
// says the caller holds Mu for rest (a partial write must not be split by
// another frame).
func (c *hconn) slow(rest [][]byte, b batch, locked bool) {
	var msgs [][]byte
	bufs := net.Buffers(rest)
	for {
		if len(bufs) > 0 {
			var err error
			if locked {
				err = c.writeDeadline(&bufs)
				c.wire.Mu.Unlock()
				locked = false
			} else {
				err = c.writeBlocking(&bufs)
			}
			if err != nil {
				c.end(err)
				return
			}
			c.lastWrite = c.w.pool.now()
			c.counted(b)
		}
		if c.hup.Load() {
			c.end(errHangup)
			return
		}
		select {
		case <-c.sub.log.done:
			c.end(ErrClosed)
			return
		default:
		}
		before := c.sub.mark()
		b = c.sub.take(msgs[:0])
		c.sub.checkWasted(before, len(b.msgs))
		if len(b.msgs) == 0 {
			if !c.w.handBack(c) {
				c.end(ErrClosed) // the writer has stopped: the log closed
			}
			return
		}
		msgs = b.msgs
		bufs = append(bufs[:0], msgs...)
	}
}

// counted records a batch written whole, off the writer goroutine.
func (c *hconn) counted(b batch) {
	if b.payload > 0 {
		c.m.bytes.Add(float64(b.payload))
	}
	if b.events == 0 {
		return
	}
	c.events += b.events
	c.m.sent.Add(float64(b.events))
	c.m.batch.Observe(c.m.tr, b.events)
}

// tally is what a writer's pass wrote to one transport's connections,
// added to the transport's counters once, at the end of the pass: one
// update of each shared counter per pass, not per write.
type tally struct {
	events, bytes int
	batches       batchCounts // events per write
}

// counted records a batch the writer wrote whole.
func (w *writer) counted(c *hconn, b batch) {
	t := &w.tally[c.m.i]
	t.bytes += b.payload
	if b.events == 0 {
		return
	}
	c.events += b.events
	t.events += b.events
	t.batches.add(b.events)
}

// flush adds the pass's tally to the counters.
func (w *writer) flush() {
	for _, m := range w.pool.metrics {
		t := &w.tally[m.i]
		if t.bytes > 0 {
			m.bytes.Add(float64(t.bytes))
		}
		if t.events > 0 {
			m.sent.Add(float64(t.events))
			m.batch.addCounts(m.tr, &t.batches)
		}
		*t = tally{}
	}
}

// wakeUp queues a fast connection on its writer. A slow one takes what is
// owed without being told.
func (c *hconn) wakeUp() {
	if c.state.Load() != connFast || c.queued.Swap(true) {
		return
	}
	c.w.enqueue(c)
}

// hangup ends the stream because its client went away.
func (c *hconn) hangup() {
	c.hup.Store(true)
	if c.state.Load() == connFast && !c.queued.Swap(true) {
		c.w.enqueue(c)
	}
}

// end ends the stream: it says goodbye on shutdown, closes the
// connection, counts a drop if a write failed, and releases the stream.
// The holder of the connection calls it, once.
func (c *hconn) end(err error) {
	if c.state.Swap(connDone) == connDone {
		return
	}
	c.sub.log.unwatch(c.sub)
	c.sub.conn.Store(nil)
	if c.hup.Load() {
		err = errHangup
	}
	finish := func() {
		c.st.ended(context.Background(), err, c.events, c.w.pool.epoch.Add(c.start)) // a hang-up is client_gone
		c.st.Close()
		c.release()
	}
	switch {
	case !errors.Is(err, ErrClosed):
		c.close(false)
		finish()
	case c.wire.goodbye != nil:
		// Shutting down: a last hint and the end of the response, in one
		// direct write if the socket takes it, else on a goroutine under
		// the deadline.
		n, werr := c.tryWrite(newRawWrite(), [][]byte{c.wire.goodbye}, false)
		if werr != nil || n == len(c.wire.goodbye) {
			c.close(false)
			finish()
			return
		}
		go func() {
			bufs := net.Buffers{c.wire.goodbye[n:]}
			c.writeBlocking(&bufs)
			c.close(false)
			finish()
		}()
	default:
		go func() {
			c.close(true)
			finish()
		}()
	}
}

// release lets go of what an ended connection held: its writer's wheel
// keeps the connection itself until the slot comes round (up to a
// heartbeat later), and only its state and place are read there, so the
// stream, its subscription and the transport's connection (a WebSocket's
// library state and buffers) are not kept that long.
func (c *hconn) release() {
	c.st, c.sub, c.rc, c.wire = nil, nil, nil, Wire{}
}

// close ends the connection through the transport's End, or with
// closeQuietly when it has none.
func (c *hconn) close(shutdown bool) {
	c.w.pool.hangups.unwatch(c)
	if c.wire.End != nil {
		c.wire.End(shutdown)
		return
	}
	closeQuietly(c.wire.Conn)
}

// tryWrite writes p in one nonblocking write and returns how much the
// socket took. With Mu set, keepLocked says to return holding it when the
// write was partial (the caller finishes the frame); if Mu is busy,
// nothing is written.
func (c *hconn) tryWrite(rw *rawWrite, p [][]byte, keepLocked bool) (int, error) {
	mu := c.wire.Mu
	if mu != nil && !mu.TryLock() {
		return 0, nil
	}
	n, err := rw.write(c.rc, p)
	// Unlocked unless a frame is left half written and the caller
	// finishes it.
	if mu != nil && (!keepLocked || err != nil || n == 0 || n == size(p)) {
		mu.Unlock()
	}
	return n, err
}

// writer is one of the pool's writer goroutines and the connections it owns.
type writer struct {
	pool *pool
	wake chan struct{} // a token when ready grew

	// Guarded by mu.
	mu      sync.Mutex
	ready   []*hconn // connections with something owed
	stopped bool     // the log closed; no connection comes back

	// Owned by the writer goroutine.
	set   []*hconn // every connection it has held and that has not ended
	wheel [wheelSlots][]*hconn
	turn  int // ticks so far
	spare []*hconn
	msgs  [][]byte
	raw   *rawWrite
	now   time.Duration // the clock, read once per pass: when it began
	tally []tally       // by connMetrics.i, since the pass began
}

func (w *writer) enqueue(c *hconn) {
	w.mu.Lock()
	w.ready = append(w.ready, c)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// handBack gives a connection back to its writer after a slow stretch (or
// at the start). It fails once the writer has stopped.
func (w *writer) handBack(c *hconn) bool {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return false
	}
	c.state.Store(connFast)
	queue := !c.queued.Swap(true)
	if queue {
		w.ready = append(w.ready, c)
	}
	w.mu.Unlock()
	if queue {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return true
}

func (w *writer) run() {
	defer w.pool.wg.Done()
	t := time.NewTicker(w.pool.tick)
	defer t.Stop()
	pause := time.NewTimer(time.Hour)
	pause.Stop()
	done := w.pool.hub.log.done
	var last time.Duration // when the last pass began
	for {
		select {
		case <-w.wake:
			// Events that come faster than one a millisecond are taken a
			// millisecond's worth at a time: one write per connection for
			// several events, at the price of that much latency. Slower
			// events go out as they come.
			if wait := last + coalesce - w.pool.now(); wait > 0 {
				pause.Reset(wait)
				select {
				case <-pause.C:
				case <-done:
					w.shutdown()
					return
				}
			}
		case <-t.C:
			w.turnWheel()
		case <-done:
			w.shutdown()
			return
		}
		w.now = w.pool.now()
		last = w.now
		w.mu.Lock()
		ready := w.ready
		w.ready = w.spare[:0]
		w.mu.Unlock()
		for _, c := range ready {
			w.deliver(c)
		}
		clear(ready)
		w.spare = ready
		w.flush()
	}
}

// deliver writes what c is owed, if c is still the writer's.
func (w *writer) deliver(c *hconn) {
	c.queued.Store(false)
	if c.state.Load() != connFast {
		return // slow (its goroutine takes what is owed) or done
	}
	if c.idx < 0 {
		c.idx = len(w.set)
		w.set = append(w.set, c)
		w.schedule(c, c.lastWrite+c.beat)
	}
	if c.hup.Load() {
		c.end(errHangup)
		return
	}
	before := c.sub.mark()
	b := c.sub.take(w.msgs[:0])
	c.sub.checkWasted(before, len(b.msgs))
	if len(b.msgs) > 0 {
		w.write(c, b)
	}
	clear(b.msgs)
	w.msgs = b.msgs[:0]
}

// write sends a batch in one nonblocking write. What the socket does not
// take goes to the slow path.
func (w *writer) write(c *hconn, b batch) {
	n, err := c.tryWrite(w.raw, b.msgs, true)
	if err != nil {
		c.end(err)
		return
	}
	if n == size(b.msgs) {
		c.lastWrite = w.now
		w.counted(c, b)
		if b.more {
			c.wakeUp()
		}
		return
	}
	rest := after(b.msgs, n)
	b.msgs = nil
	c.state.Store(connSlow)
	c.m.slow.Inc()
	go func() {
		c.slow(rest, b, n > 0 && c.wire.Mu != nil)
		if c.state.Load() == connFast {
			c.m.back.Inc()
		}
	}()
}

// schedule puts c in the wheel's slot for time at (at most a wheel ahead).
func (w *writer) schedule(c *hconn, at time.Duration) {
	ahead := int((at - w.now + w.pool.tick - 1) / w.pool.tick)
	ahead = min(max(ahead, 1), wheelSlots-1)
	s := (w.turn + ahead) % wheelSlots
	w.wheel[s] = append(w.wheel[s], c)
}

// turnWheel visits the connections of the slot now due: a heartbeat to
// each that has been quiet for almost an interval, a drop for one whose
// ping went unanswered, and a forgetting of those that ended.
func (w *writer) turnWheel() {
	w.turn++
	s := w.turn % wheelSlots
	due := w.wheel[s]
	w.wheel[s] = nil
	w.now = w.pool.now()
	now := w.now
	soon := now + w.pool.tick
	for _, c := range due {
		switch c.state.Load() {
		case connDone:
			w.forget(c)
			continue
		case connSlow:
			w.schedule(c, now+c.beat) // its goroutine writes; look again later
			continue
		}
		if c.pingAt != 0 {
			if c.ponged.Load() {
				c.pingAt = 0
			} else if now-c.pingAt >= c.timeout {
				c.end(errPongTimeout)
				w.forget(c)
				continue
			}
		}
		if c.lastWrite+c.beat <= soon {
			if c.wire.AwaitPong && c.pingAt == 0 {
				c.ponged.Store(false)
				c.pingAt = now
			}
			b := batch{msgs: append(w.msgs[:0], c.wire.Ping)}
			if c.wire.goodbye != nil {
				b.payload = len(heartbeat)
			}
			w.write(c, b)
			w.msgs = b.msgs[:0]
			if c.state.Load() == connDone {
				w.forget(c)
				continue
			}
		}
		next := c.lastWrite + c.beat
		if c.pingAt != 0 {
			next = min(next, c.pingAt+c.timeout)
		}
		w.schedule(c, next)
	}
	clear(due)
	w.flush()
}

// forget drops an ended connection from the writer's set.
func (w *writer) forget(c *hconn) {
	if c.idx < 0 {
		return
	}
	last := w.set[len(w.set)-1]
	w.set[c.idx] = last
	last.idx = c.idx
	w.set[len(w.set)-1] = nil
	w.set = w.set[:len(w.set)-1]
	c.idx = -1
}

// shutdown ends every connection the writer holds; slow ones end on their
// own goroutines, which find the log closed.
func (w *writer) shutdown() {
	w.mu.Lock()
	w.stopped = true
	ready := w.ready
	w.ready = nil
	w.mu.Unlock()
	for _, c := range ready {
		if c.state.Load() == connFast {
			c.end(ErrClosed)
		}
	}
	for _, c := range w.set {
		if c.state.Load() == connFast {
			c.end(ErrClosed)
		}
	}
	w.set = nil
	w.wheel = [wheelSlots][]*hconn{}
}

// errPongTimeout ends a stream whose client did not answer a ping within
// the write timeout: a stuck client, counted as a write timeout.
var errPongTimeout = fmt.Errorf("feed: no pong within the write timeout: %w", os.ErrDeadlineExceeded)

// Serve hands the stream to the hub's writers, on wire, framed as the
// stream's encoding goes on the wire (the log's chunk or WebSocket frame
// of each event). It returns once the writers hold the connection, having
// written what was owed at once. From then on the hub owns the stream: it
// ends it, calls wire.End and closes the stream; the caller must not.
func (s *Stream) Serve(wire Wire) {
	s.hub.writers.serve(s, wire, nil, batch{})
}

// Pong tells the writers that the client answered a ping (see
// [Wire].AwaitPong).
func (s *Stream) Pong() {
	if c := s.sub.conn.Load(); c != nil {
		c.ponged.Store(true)
	}
}

// Hangup tells the writers that the client went away (its transport read
// an end or an error): the stream ends without counting a drop.
func (s *Stream) Hangup() {
	if c := s.sub.conn.Load(); c != nil {
		c.hangup()
	} else if s.stop != nil {
		s.stop()
	}
}
