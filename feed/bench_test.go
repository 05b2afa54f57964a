package feed

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchWriter is a subscriber that takes batches as the SSE handler does,
// minus the socket.
type benchWriter struct {
	bytes  int
	events int
	done   chan struct{}
	marker []byte
	once   sync.Once
}

func (w *benchWriter) WriteBatch(msgs [][]byte) error {
	for _, m := range msgs {
		w.bytes += len(m) // what a socket would take
	}
	w.events += len(msgs)
	// The marker is the last event published: seen live, or (for a
	// subscriber that was lapped or started late) in a snapshot.
	if bytes.Contains(msgs[len(msgs)-1], w.marker) {
		w.once.Do(func() { close(w.done) })
	}
	return nil
}

func (w *benchWriter) Heartbeat() error { return nil }

// BenchmarkFanout publishes b.N quotes to 1, 100 and 1000 subscribers and
// waits until every subscriber has written every one. Allocations per
// event must not grow with subscribers: each event is encoded once.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			l, err := NewLog(TestSymbols, 1<<16, 1)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var wg sync.WaitGroup
			var lapped atomic.Int64
			writers := make([]*benchWriter, n)
			for i := range writers {
				w := &benchWriter{done: make(chan struct{}), marker: []byte(`{"index":-1}`)}
				writers[i] = w
				sub := l.Subscribe(Filter{}, "", SSE)
				wg.Go(func() {
					sub.Run(ctx, w, time.Hour, func(_ int, resets []ResetReason) { lapped.Add(int64(len(resets))) })
				})
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
			for _, w := range writers {
				<-w.done
			}
			b.StopTimer()
			cancel()
			wg.Wait()
			delivered := 0
			for _, w := range writers {
				delivered += w.events
			}
			b.ReportMetric(float64(delivered)/b.Elapsed().Seconds(), "deliveries/s")
			b.ReportMetric(float64(lapped.Load()), "lapped")
		})
	}
}

// BenchmarkPublish is the writer's cost per event with nobody listening:
// marshal once, encode twice, wake.
func BenchmarkPublish(b *testing.B) {
	l, err := NewLog(TestSymbols, 1<<16, 1)
	if err != nil {
		b.Fatal(err)
	}
	q := &TestQuote{Symbol: "AAPL", Price: 123.45}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.Publish("quote", "AAPL", q)
	}
}
