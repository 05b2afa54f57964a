package feed

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
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
