package feed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	. "tickertape/feed"
	"tickertape/internal/sse"
)

// The throttle tests run /events in a synctest bubble, so its clock is
// fake: ticks, heartbeats and a market that trades every millisecond are
// exact, and a minute of them passes in no time. The HTTP is real (the
// hub's handler served by net/http, read by net/http's client and a
// Reader); only the connection is an in-memory pipe, as a bubble's clock
// cannot wait on a real socket.

// pipeListener is a net.Listener whose connections are net.Pipes made by
// its dial.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error { l.once.Do(func() { close(l.done) }); return nil }

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// pipeServer is a hub's /events served over pipes, inside a bubble.
type pipeServer struct {
	log    *Log
	reg    *prometheus.Registry
	client *http.Client
}

// startPipeServer serves a log of TestSymbols that keeps size events. It
// must be called inside the bubble; everything it starts ends with the
// test.
func startPipeServer(t *testing.T, size int, opts Options) *pipeServer {
	t.Helper()
	l, h, reg := NewTestHub(t, size, opts)
	ln := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	srv := &http.Server{Handler: h.SSEHandler()}
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(ln) }()
	tr := &http.Transport{DialContext: ln.dial}
	t.Cleanup(func() {
		l.Close()
		tr.CloseIdleConnections()
		srv.Close()
		<-served
	})
	return &pipeServer{log: l, reg: reg, client: &http.Client{Transport: tr}}
}

// open starts a stream of path, resuming after lastID if it is not "".
func (ps *pipeServer) open(t *testing.T, path, lastID string) (*sse.Client, context.CancelFunc) {
	t.Helper()
	// A deadline on the bubble's clock: a stream that never brings what a
	// test waits for fails it instead of beating its heart forever.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	var hdr []string
	if lastID != "" {
		hdr = []string{"Last-Event-ID", lastID}
	}
	c := sse.OpenContext(t, ctx, ps.client, "http://pipe"+path, hdr...)
	return c, c.Stop
}

// tradeEveryMillisecond is a fast market: from start, quote j comes at
// 0.5 ms + j ms (half a millisecond off every tick), for symbol
// TestSymbols[j%3] at price j, and after every thousandth quote a market
// event with index j. It runs until stop is closed.
func tradeEveryMillisecond(t *testing.T, l *Log, start time.Time, stop <-chan struct{}) {
	for j := 0; ; j++ {
		select {
		case <-stop:
			return
		case <-time.After(time.Until(start.Add(500*time.Microsecond + time.Duration(j)*time.Millisecond))):
		}
		s := TestSymbols[j%3]
		if err := l.Publish("quote", s, TestQuote{Symbol: s, Price: float64(j)}); err != nil {
			t.Error(err)
			return
		}
		if j%1000 == 999 {
			if err := l.Publish("market", "", TestMarket{Index: float64(j)}); err != nil {
				t.Error(err)
				return
			}
		}
	}
}

// newestBefore returns the price of TestSymbols[sym]'s newest quote
// published before elapsed, by tradeEveryMillisecond (quotes 0 … ms-1).
func newestBefore(elapsed time.Duration, sym int) float64 {
	j := int(elapsed/time.Millisecond) - 1
	for j%3 != sym {
		j--
	}
	return float64(j)
}

// delivery reads the n events of one delivery and checks that they all
// came at once, at want after from, with no heartbeat among them; it
// returns them.
func delivery(t *testing.T, s *sse.Client, n int, from time.Time, want time.Duration) []Event {
	t.Helper()
	evs := make([]Event, n)
	var comments int
	for i := range evs {
		evs[i] = s.Next(t)
		if at := time.Since(from); at != want {
			t.Fatalf("event %d of a delivery (%s %s) came %s after the start, want %s: %v", i, evs[i].Name, evs[i].Data, at, want, evs[:i+1])
		}
		if i == 0 {
			comments = s.Reader.Comments
		} else if s.Reader.Comments != comments {
			t.Fatalf("a heartbeat within a delivery: %v", evs[:i+1])
		}
	}
	return evs
}

// checkDelivery checks what a delivery of ?symbols=AAPL,MSFT&throttle=
// brings at elapsed from the market's start: after the cursor's id, in
// id order, the newest AAPL and MSFT quotes and every market event since
// the last delivery (markets), nothing else. It returns the last id.
func checkDelivery(t *testing.T, evs []Event, after uint64, elapsed time.Duration, markets []float64) uint64 {
	t.Helper()
	quotes := map[string]float64{}
	var gotMarkets []float64
	for _, ev := range evs {
		if n := sse.ID(t, ev); n <= after {
			t.Fatalf("id %d after %d: ids must increase (%v)", n, after, evs)
		} else {
			after = n
		}
		switch ev.Name {
		case "quote":
			var q TestQuote
			if err := json.Unmarshal([]byte(ev.Data), &q); err != nil {
				t.Fatal(err)
			}
			if _, dup := quotes[q.Symbol]; dup {
				t.Fatalf("two %s quotes in one delivery: %v", q.Symbol, evs)
			}
			quotes[q.Symbol] = q.Price
		case "market":
			var m TestMarket
			if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
				t.Fatal(err)
			}
			gotMarkets = append(gotMarkets, m.Index)
		default:
			t.Fatalf("a throttled stream got %s %s", ev.Name, ev.Data)
		}
	}
	want := map[string]float64{"AAPL": newestBefore(elapsed, 0), "MSFT": newestBefore(elapsed, 1)}
	if fmt.Sprint(quotes) != fmt.Sprint(want) {
		t.Errorf("delivery at %s: quotes %v, want the newest, %v", elapsed, quotes, want)
	}
	if fmt.Sprint(gotMarkets) != fmt.Sprint(markets) {
		t.Errorf("delivery at %s: market events %v, want every one since the last, %v", elapsed, gotMarkets, markets)
	}
	return after
}

// marketsBetween lists the indices of the market events tradeEveryMillisecond
// published from elapsed a to b.
func marketsBetween(a, b time.Duration) []float64 {
	var m []float64
	for j := 999; j < int(b/time.Millisecond); j += 1000 {
		if j >= int(a/time.Millisecond) {
			m = append(m, float64(j))
		}
	}
	return m
}

// TestThrottleFromState: a throttled stream over a ring of 16 events, which
// a market trading every millisecond laps every 16 ms, gets at each 10 s
// tick the newest quote of each symbol it watches and every market event
// of the interval: no reset, nothing in between but heartbeats (three per
// interval at -heartbeat 3s), exactly one delivery per interval. Its last
// id, long fallen off the ring, resumes it: at once, what changed since,
// then one delivery per interval again.
func TestThrottleFromState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval, heartbeat = 10 * time.Second, 3 * time.Second
		ps := startPipeServer(t, 16, Options{Heartbeat: heartbeat})
		if err := ps.log.Publish("market", "", TestMarket{Index: -1}); err != nil {
			t.Fatal(err)
		}
		s, stop := ps.open(t, "/?symbols=AAPL,MSFT&throttle=10s", "")
		snap := s.Next(t)
		if snap.Name != "snapshot" {
			t.Fatalf("first event %s, want snapshot", snap.Name)
		}
		start := time.Now()
		halt := make(chan struct{})
		traded := make(chan struct{})
		go func() { defer close(traded); tradeEveryMillisecond(t, ps.log, start, halt) }()
		defer func() { close(halt); <-traded }()

		last := sse.ID(t, snap)
		for k := 1; k <= 4; k++ {
			at := time.Duration(k) * interval
			comments := s.Reader.Comments
			evs := delivery(t, s, 12, start, at) // 2 quotes, 10 market events
			if hb := s.Reader.Comments - comments; hb != 3 {
				t.Errorf("before the delivery at %s: %d heartbeats, want 3 (one per 3 s of silence, and no delivery between)", at, hb)
			}
			last = checkDelivery(t, evs, last, at, marketsBetween(at-interval, at))
		}

		// Gone for 5 s: the ring has lapped the last id some 300 times.
		stop()
		time.Sleep(5 * time.Second)
		s, _ = ps.open(t, "/?symbols=AAPL,MSFT&throttle=10s", fmt.Sprint(last))
		back := 45 * time.Second
		evs := delivery(t, s, 7, start, back) // at once: 2 quotes and the 5 market events since
		last = checkDelivery(t, evs, last, back, marketsBetween(40*time.Second, back))
		comments := s.Reader.Comments
		evs = delivery(t, s, 12, start, back+interval)
		if hb := s.Reader.Comments - comments; hb != 3 {
			t.Errorf("after the resume: %d heartbeats before the next delivery, want 3", hb)
		}
		checkDelivery(t, evs, last, back+interval, marketsBetween(back, back+interval))

		body := Scrape(t, ps.reg)
		for _, want := range []string{`tickertape_resets_total{reason="lapped"} 0`, `tickertape_resets_total{reason="too_old"} 0`,
			`tickertape_replay_total{result="hit"} 1`} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		// The first stream hung up (client_gone); none was dropped as a
		// slow reader.
		if strings.Contains(body, `tickertape_streams_dropped_total{cause="write_`) {
			t.Errorf("a throttled stream was dropped:\n%s", body)
		}
	})
}

type testStatus struct {
	Symbol string `json:"symbol,omitempty"`
	State  string `json:"state"`
	N      int    `json:"n"`
}

// TestThrottleStatuses: every status event of an interval comes at its
// tick, in order; if more market and status events came in one interval
// than the log keeps of them, the newest status of each symbol and of the
// session, and the newest market event, without a reset.
func TestThrottleStatuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int // status events published in the interval, AAPL's and the session's in turn
		want []string
	}{
		{"all", 6, []string{"AAPL 0", "session 1", "AAPL 2", "session 3", "AAPL 4", "session 5", "market"}},
		{"more than kept", 2 * MaxUnconflated, []string{"AAPL 1022", "session 1023", "market"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ps := startPipeServer(t, 16, Options{Heartbeat: time.Minute})
				s, _ := ps.open(t, "/?throttle=1s&events=status,market", "")
				s.Next(t) // snapshot
				for i := range tc.n {
					sym, st := "AAPL", testStatus{Symbol: "AAPL", State: "halted", N: i}
					if i%2 == 1 {
						sym, st = "", testStatus{State: "closed", N: i}
					}
					if err := ps.log.Publish("status", sym, st); err != nil {
						t.Fatal(err)
					}
				}
				if err := ps.log.Publish("market", "", TestMarket{Index: 1}); err != nil {
					t.Fatal(err)
				}
				var got []string
				for range tc.want {
					ev := s.Next(t)
					switch ev.Name {
					case "status":
						var st testStatus
						json.Unmarshal([]byte(ev.Data), &st)
						if st.Symbol == "" {
							st.Symbol = "session"
						}
						got = append(got, fmt.Sprint(st.Symbol, " ", st.N))
					default:
						got = append(got, ev.Name)
					}
				}
				if strings.Join(got, ", ") != strings.Join(tc.want, ", ") {
					t.Errorf("delivered %v, want %v", got, tc.want)
				}
			})
		})
	}
}
