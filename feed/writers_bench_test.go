package feed

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkWriters publishes b.N quotes to n real streams over loopback
// TCP and waits until every client has read every one: on the hub's
// writers (hijacked connections), and on net/http's path (a goroutine, a
// buffer and a deadline per stream, as behind middleware that hides the
// connection). ns/delivery is wall time per event per client, clients'
// reading included; allocs/op is per event published, and must not grow
// with n on the writers: a delivery allocates nothing.
func BenchmarkWriters(b *testing.B) {
	for _, path := range []string{"writers", "nethttp"} {
		for _, n := range []int{1, 100, 1000} {
			b.Run(fmt.Sprintf("path=%s/subs=%d", path, n), func(b *testing.B) {
				benchmarkWriters(b, path, n)
			})
		}
	}
}

func benchmarkWriters(b *testing.B, path string, n int) {
	l, err := NewLog(TestSymbols, 1<<16, 1)
	if err != nil {
		b.Fatal(err)
	}
	h := NewHub(l, Options{Metrics: NewMetrics(prometheus.NewRegistry()), Logger: DiscardLogger(),
		MaxStreams: 2 * n, Heartbeat: time.Hour})
	handler := h.SSEHandler()
	if path == "nethttp" {
		handler = hideConn(handler)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	defer l.Close()
	l.Publish("market", "", TestMarket{Index: 1})

	ready := make(chan error, n)
	done := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /?events=quote,market HTTP/1.1\r\nHost: x\r\n\r\n")
		wg.Go(func() { readUntilMarker(conn, ready, done) })
	}
	for range n {
		if err := <-ready; err != nil {
			b.Fatal(err)
		}
	}
	q := &TestQuote{Symbol: "AAPL", Price: 123.45, Pad: "bid ask open high low prevClose change volume ts"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		q.Price = float64(i)
		if err := l.Publish("quote", TestSymbols[i%3], q); err != nil {
			b.Fatal(err)
		}
	}
	l.Publish("market", "", TestMarket{Index: -1})
	for range n {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
	l.Close()
	wg.Wait()
}

var marker = []byte(`data: {"index":-1}`)

// readUntilMarker reads a stream: ready after its first event, done when
// the marker event went by.
func readUntilMarker(conn net.Conn, ready, done chan<- error) {
	br := bufio.NewReaderSize(conn, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		ready <- err
		return
	}
	body := bufio.NewReaderSize(resp.Body, 64<<10)
	if _, err := body.ReadSlice('\n'); err != nil { // the retry line
		ready <- err
		return
	}
	buf := make([]byte, 64<<10)
	tail := make([]byte, 0, len(buf)+len(marker))
	ready <- nil // nothing is allocated past here: allocs/op are the server's
	for {
		k, err := body.Read(buf)
		chunk := append(tail, buf[:k]...)
		if bytes.Contains(chunk, marker) {
			done <- nil
			io.Copy(io.Discard, body) // until the log closes
			return
		}
		if err != nil {
			done <- err
			return
		}
		tail = append(tail[:0], chunk[max(0, len(chunk)-len(marker)):]...)
	}
}

// BenchmarkWriterPass is the writers' own work per delivery, without the
// kernel's: n streams on the writers whose sockets are /dev/null (every
// write is taken whole, at the cost of a system call that does nothing),
// one event at a time, each delivered to every stream before the next is
// published. So every pass writes one event per connection, however fast
// the machine: cpu-ns/delivery (the process's CPU time, the benchmark's
// polling included) and allocs/op are repeatable, and so is the count of
// instructions under callgrind (GODEBUG=asyncpreemptoff=1 valgrind
// --tool=callgrind), where the inclusive cost of feed.(*writer).run per
// delivery is the writers' own.
func BenchmarkWriterPass(b *testing.B) {
	for _, tr := range Transports() {
		for _, n := range []int{100, 1000} {
			b.Run(fmt.Sprintf("transport=%s/subs=%d", tr, n), func(b *testing.B) { benchmarkWriterPass(b, tr, n) })
		}
	}
}

// nullConn is a connection whose socket is /dev/null.
type nullConn struct {
	net.Conn // nil: only what the writers call is here
	f        *os.File
}

func (c *nullConn) SyscallConn() (syscall.RawConn, error) { return c.f.SyscallConn() }
func (c *nullConn) Close() error                          { return c.f.Close() }

func benchmarkWriterPass(b *testing.B, tr Transport, n int) {
	l, err := NewLog(TestSymbols, 1<<10, 1)
	if err != nil {
		b.Fatal(err)
	}
	h := NewHub(l, Options{Metrics: NewMetrics(prometheus.NewRegistry()), Logger: DiscardLogger(),
		MaxStreams: n, Heartbeat: time.Hour})
	defer func() {
		l.Close()
		h.Wait(context.Background())
	}()
	l.Publish("market", "", TestMarket{Index: 1})
	streams := make([]*Stream, n)
	for i := range streams {
		st, err := h.Open(httptest.NewRequest(http.MethodGet, "/?events=quote", nil), tr)
		if err != nil {
			b.Fatal(err)
		}
		f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		wire := Wire{Conn: &nullConn{f: f}, Ping: heartbeatChunk}
		if tr == WS {
			wire.Mu = new(sync.Mutex) // as compare's: the library writes its control frames under it
		}
		st.Serve(wire)
		streams[i] = st
	}
	q := &TestQuote{Symbol: "AAPL", Price: 123.45, Pad: "bid ask open high low prevClose change volume ts"}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := range b.N {
		q.Price = float64(i)
		if err := l.Publish("quote", TestSymbols[i%3], q); err != nil {
			b.Fatal(err)
		}
		next := l.Newest() + 1
		for _, st := range streams {
			for st.sub.pos.Load() < next { // taken, so written as the pass goes on
				time.Sleep(50 * time.Microsecond)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/float64(n), "cpu-ns/delivery")
}

// cpuTime is the process's CPU time so far, user and system, in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
