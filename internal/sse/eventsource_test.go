package sse

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The test client keeps the standard's rules, since the nginx test relies
// on them: it reconnects after the end of a stream and after a network
// error, waiting the retry: it was given and sending its last id; it
// closes for good on a non-200 answer or another Content-Type, and never
// asks again.
func TestEventSourceClient(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		status      int
		contentType string
	}{
		{"502", 502, "text/event-stream"},
		{"204", 204, "text/event-stream"},
		{"text/html", 200, "text/html"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var asked []string // the Last-Event-ID of each request
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				asked = append(asked, r.Header.Get("Last-Event-ID"))
				n := len(asked)
				mu.Unlock()
				switch n {
				case 1: // a stream that ends
					w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
					io.WriteString(w, "retry: 10\nid: 7\ndata: a\n\n")
				case 2: // a network error: the connection is cut
					panic(http.ErrAbortHandler)
				case 3: // the answer that closes it
					w.Header().Set("Content-Type", tc.contentType)
					w.WriteHeader(tc.status)
				default:
					t.Errorf("request %d: the EventSource asked again after it closed", n)
				}
			}))
			defer srv.Close()
			es := OpenEventSource(t, nil, srv.URL)
			if ev := es.Next(t); ev.ID != "7" || ev.Data != "a" {
				t.Fatalf("first event: %+v", ev)
			}
			<-es.Done()
			if err := es.Failed(); err == nil || !strings.Contains(err.Error(), strconv.Itoa(tc.status)) {
				t.Fatalf("closed with %v, want the %d answer", err, tc.status)
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(asked, ",") != ",7,7" {
				t.Errorf("Last-Event-ID sent: %q, want none, then 7 twice", asked)
			}
			if es.StreamsOpened() != 1 {
				t.Errorf("streams opened: %d, want 1", es.StreamsOpened())
			}
		})
	}
}
