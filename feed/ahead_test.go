package feed

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// A resume a little ahead of a log fed by a broker waits for its id and
// is then served from it; one that waits in vain, or is further ahead, is
// reset future (docs/API.md, "Resume a moment ahead").
func TestResumeAheadWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _ := NewLog(TestSymbols, 100, 0)
		defer l.Close()
		var id uint64 = 5000
		appendQuotes := func(n int) {
			for range n {
				id++
				if err := l.Append(id, "quote", "AAPL", []byte(`{"symbol":"AAPL"}`)); err != nil {
					t.Fatal(err)
				}
			}
		}
		appendQuotes(10)
		// 2 s at 10 events a second: up to 20 events ahead is a little.
		waiting := prometheus.NewGauge(prometheus.GaugeOpts{Name: "waiting"})
		h := NewHub(l, Options{Metrics: NewMetrics(prometheus.NewRegistry()), Logger: DiscardLogger(),
			Ahead: &Ahead{Wait: 2 * time.Second, Rate: func() float64 { return 10 }, Waiting: waiting}})
		reg := prometheus.NewRegistry()
		reg.MustRegister(waiting)
		gauge := func() float64 {
			mfs, _ := reg.Gather()
			return mfs[0].GetMetric()[0].GetGauge().GetValue()
		}
		open := func(last uint64) (chan *Stream, time.Time) {
			r := httptest.NewRequest("GET", "/events", nil)
			r.Header.Set("Last-Event-ID", strconv.FormatUint(last, 10))
			got := make(chan *Stream, 1)
			go func() {
				st, err := h.Open(r, SSE)
				if err != nil {
					t.Error(err)
				}
				got <- st
			}()
			return got, time.Now()
		}

		// A moment ahead: it waits, and is served once the id is in.
		got, _ := open(id + 5)
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("a resume 5 events ahead did not wait for them")
		default:
		}
		if v := gauge(); v != 1 {
			t.Errorf("%v resumes counted as waiting, want 1", v)
		}
		appendQuotes(5)
		synctest.Wait()
		st := <-got
		if v := gauge(); v != 0 {
			t.Errorf("%v resumes counted as waiting once served, want 0", v)
		}
		if !st.sub.Replayed() || st.sub.Reset() != "" || st.sub.cursor != id+1 {
			t.Fatalf("after the wait: replayed %v, reset %q, cursor %d; want a resume at %d", st.sub.Replayed(), st.sub.Reset(), st.sub.cursor, id+1)
		}
		st.Close()

		// A moment ahead, in vain: reset future after the wait.
		got, start := open(id + 3)
		st = <-got
		if waited := time.Since(start); st.sub.Reset() != ResetFuture || waited != 2*time.Second {
			t.Fatalf("a resume ahead that never came: reset %q after %v, want future after 2s", st.sub.Reset(), waited)
		}
		st.Close()

		// Far ahead: reset future at once.
		got, start = open(id + 21)
		st = <-got
		if waited := time.Since(start); st.sub.Reset() != ResetFuture || waited != 0 {
			t.Fatalf("a resume far ahead: reset %q after %v, want future at once", st.sub.Reset(), waited)
		}
		st.Close()

		// Without Ahead (a single node), a resume ahead is future at once.
		h = NewHub(l, Options{Metrics: NewMetrics(prometheus.NewRegistry()), Logger: DiscardLogger()})
		got, start = open(id + 1)
		st = <-got
		if waited := time.Since(start); st.sub.Reset() != ResetFuture || waited != 0 {
			t.Fatalf("a resume ahead without Ahead: reset %q after %v, want future at once", st.sub.Reset(), waited)
		}
		st.Close()
	})
}

// The wait holds the request before either path takes the stream: a
// resume a moment ahead is served from its id, with no reset, on a
// hijacked HTTP/1.1 connection (the hub's writers) as on HTTP/2 (its own
// goroutine).
func TestResumeAheadOnBothPaths(t *testing.T) { onBothPaths(t, testResumeAheadOnBothPaths) }

func testResumeAheadOnBothPaths(t *testing.T, p path) {
	waiting := prometheus.NewGauge(prometheus.GaugeOpts{Name: "tickertape_test_ahead_waiting"})
	// A wait far longer than the test: it ends when the ids arrive.
	f := newFixture(t, p, 100, Options{Ahead: &Ahead{Wait: time.Minute, Rate: func() float64 { return 10 }, Waiting: waiting}})
	f.reg.MustRegister(waiting)
	PublishTestEvents(t, f.log, 10)
	newest := f.log.Newest()

	opened := make(chan *stream, 1)
	go func() {
		// openStream's failures are Fatal, which a goroutine may not call.
		defer close(opened)
		req, err := http.NewRequest(http.MethodGet, f.srv.URL, nil)
		if err != nil {
			t.Error(err)
			return
		}
		req.Header.Set("Last-Event-ID", strconv.FormatUint(newest+5, 10))
		resp, err := f.client.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		f.streams++ // read by the fixture's cleanup, after this goroutine is done
		opened <- &stream{resp: resp, r: NewReader(resp.Body)}
	}()
	waitFor(t, f, "tickertape_test_ahead_waiting{} 1")
	PublishTestEvents(t, f.log, 6)
	s, ok := <-opened
	if !ok {
		t.FailNow()
	}
	defer s.resp.Body.Close()
	if s.resp.StatusCode != http.StatusOK {
		t.Fatalf("a resume a moment ahead: %s", s.resp.Status)
	}
	if ev := s.next(t); ev.Name == EventReset || ev.Name == EventSnapshot || id(t, ev) != newest+6 {
		t.Fatalf("a resume from %d once the log had it: %s %s, want the event %d", newest+5, ev.Name, ev.ID, newest+6)
	}
	if body := Scrape(t, f.reg); !strings.Contains(body, "tickertape_test_ahead_waiting{} 0") {
		t.Errorf("the resume served still counted as waiting:\n%s", body)
	}

	// Far ahead: reset future at once, on the same path.
	far := f.openStream(t, "", http.Header{"Last-Event-ID": {strconv.FormatUint(newest+1000, 10)}})
	if ev := far.next(t); ev.Name != EventReset || !strings.Contains(ev.Data, string(ResetFuture)) {
		t.Fatalf("a resume far ahead: %s %s, want reset future", ev.Name, ev.Data)
	}
}
