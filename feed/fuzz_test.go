package feed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// FuzzSSEFraming proves that nothing in an event's name or data can end a
// field or the event early: whatever goes in, a reader written to the
// HTML standard reads back exactly one event with the same name, id and
// data (line breaks normalised to LF), or the encoder refuses the name.
func FuzzSSEFraming(f *testing.F) {
	f.Add("quote", uint64(1), []byte(`{"symbol":"AAPL"}`))
	f.Add("quote", uint64(7), []byte("a\r\nb\rc\nd"))
	f.Add("x\nevent: reset", uint64(0), []byte("\n\ndata: injected\n\n"))
	f.Add("name", uint64(18446744073709551615), []byte("\r"))
	f.Add(":comment", uint64(3), []byte(""))
	f.Add("q", uint64(2), []byte("trailing\r"))
	f.Fuzz(func(t *testing.T, name string, id uint64, data []byte) {
		frame, err := AppendSSE(nil, id, name, data)
		if err != nil {
			if !errors.Is(err, errBadName) || validName(name) {
				t.Fatalf("refused a valid name %q: %v", name, err)
			}
			return
		}
		// Two events back to back: the first must not swallow the second.
		stream := append(frame, "id: 99\nevent: sentinel\ndata: end\n\n"...)
		r := NewReader(bytes.NewReader(stream))
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("no event read back: %v", err)
		}
		want := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
		wantID := ""
		if id != 0 {
			wantID = string(appendUint(nil, id))
		}
		if ev.Name != name || ev.Data != want || ev.ID != wantID {
			t.Fatalf("read back %q %q id %q, want %q %q id %q", ev.Name, ev.Data, ev.ID, name, want, wantID)
		}
		if ev, err := r.Next(); err != nil || ev.Name != "sentinel" || ev.Data != "end" {
			t.Fatalf("the next event was damaged: %+v %v", ev, err)
		}
	})
}

// FuzzWSEnvelope proves the WebSocket envelope is always one JSON object
// carrying the name, id and data unchanged.
func FuzzWSEnvelope(f *testing.F) {
	f.Add("quote", uint64(12), []byte(`{"a":1}`))
	f.Add("x\"y", uint64(0), []byte(`[1,"\u2028"]`))
	f.Fuzz(func(t *testing.T, name string, id uint64, data []byte) {
		if !json.Valid(data) {
			return
		}
		msg, err := appendWS(nil, id, name, data)
		if err != nil {
			return
		}
		var env struct {
			Event string          `json:"event"`
			ID    *string         `json:"id"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(msg, &env); err != nil {
			t.Fatalf("%s: %v", msg, err)
		}
		if want := string([]rune(name)); env.Event != want { // json.Marshal makes each invalid byte a U+FFFD
			t.Fatalf("event %q, want %q", env.Event, want)
		}
		if (id == 0) != (env.ID == nil) || (env.ID != nil && *env.ID != string(appendUint(nil, id))) {
			t.Fatalf("id %v for %d", env.ID, id)
		}
		var a, b any
		json.Unmarshal(data, &a)
		json.Unmarshal(env.Data, &b)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("data %s, want %s", env.Data, data)
		}
	})
}

// FuzzParseQuery proves the query parser never panics, and that every
// refusal is a 400 that names its reason.
func FuzzParseQuery(f *testing.F) {
	l, err := NewLog(TestSymbols, 4, 1)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "symbols=AAPL,msft", "events=quote,score&throttle=250ms", "symbols=%zz", "symbols=A&symbols=B",
		"throttle=-1s", "lastEventId=12", "symbols=,,,", "events=QUOTE", "x=1&y=2", "symbols=%ff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		filter, err := l.ParseQuery(q, QueryLimits{MaxSymbols: 10})
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) || re.Status != 400 || re.Message == "" {
				t.Fatalf("%q: %#v", q, err)
			}
			return
		}
		if filter.Symbols != nil && len(filter.Symbols) != len(TestSymbols) {
			t.Fatalf("%q: filter of %d symbols", q, len(filter.Symbols))
		}
		if filter.Throttle != 0 && (filter.Throttle < MinThrottle || filter.Throttle > MaxThrottle) {
			t.Fatalf("%q: throttle %s", q, filter.Throttle)
		}
	})
}

func appendUint(b []byte, n uint64) []byte {
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

// FuzzSSERequest drives the whole request path (query, Last-Event-ID,
// Accept) and checks that every answer is a stream that starts as docs/API.md
// says, or a 4xx with a JSON body.
func FuzzSSERequest(f *testing.F) {
	l, err := NewLog(TestSymbols, 8, 100)
	if err != nil {
		f.Fatal(err)
	}
	for i := range 12 {
		l.Publish("quote", "AAPL", TestQuote{Symbol: "AAPL", Price: float64(i)})
	}
	l.Publish("market", "", TestMarket{Index: 1})
	h := NewHub(l, Options{Metrics: NewMetrics(prometheus.NewRegistry()), Logger: DiscardLogger()})
	handler := h.SSEHandler()
	f.Add("symbols=AAPL", "105", "text/event-stream")
	f.Add("events=quote&throttle=1s", "abc", "")
	f.Add("symbols=%zz", "", "*/*")
	f.Add("", "99999999999999999999", "text/html")
	f.Add("lastEventId=101", "", "text/event-stream;q=0")
	f.Fuzz(func(t *testing.T, query, lastID, accept string) {
		req := httptest.NewRequest(http.MethodGet, "/events", nil)
		req.URL.RawQuery = query
		req.Header["Last-Event-Id"] = []string{lastID}
		req.Header["Accept"] = []string{accept}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the client is gone as soon as the stream starts
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req.WithContext(ctx))
		body := rec.Body.String()
		switch {
		case rec.Code == 200:
			if rec.Header().Get("Content-Type") != "text/event-stream; charset=utf-8" || !strings.HasPrefix(body, "retry: ") {
				t.Fatalf("200 %q %q", rec.Header(), body)
			}
			r := NewReader(strings.NewReader(body))
			ev, err := r.Next()
			if err != nil || (ev.Name != "snapshot" && ev.Name != "reset" && ev.Name != "quote" && ev.Name != "market") {
				t.Fatalf("first event %+v %v in %q", ev, err, body)
			}
		case rec.Code >= 400 && rec.Code < 500:
			var e map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e["error"] == nil {
				t.Fatalf("%d with body %q", rec.Code, body)
			}
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}
