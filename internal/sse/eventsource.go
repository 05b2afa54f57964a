package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tickertape/feed"
	"tickertape/internal/sse"
)

// eventSource is a client of /events that behaves as a browser's
// EventSource does (the HTML standard, "Server-sent events"):
//   - after a network error, or when a response ends, it waits the
//     reconnection time (the last valid retry: field; 3 s before any) and
//     connects again, sending the id of the last event it dispatched as
//     Last-Event-ID;
//   - an answer that is not 200, or whose Content-Type is not
//     text/event-stream, closes it for good: it never connects again.
//
// That second rule is why no error a server or a proxy answers may ever
// reach an EventSource: it would strand the stream.
type eventSource struct {
	events chan feed.Event // every dispatched event, in order
	done   chan struct{}   // closed when it has closed (for good, or stopped)
	stop   context.CancelFunc

	mu      sync.Mutex
	streams int   // responses taken as a stream: 200, text/event-stream
	failure error // why it closed for good; nil while it runs
}

// openEventSource starts an EventSource on url through client (nil: a
// client of its own). It runs until the end of the test.
func openEventSource(t *testing.T, client *http.Client, url string) *eventSource {
	t.Helper()
	if client == nil {
		tr := &http.Transport{}
		t.Cleanup(tr.CloseIdleConnections)
		client = &http.Client{Transport: tr}
	}
	ctx, cancel := context.WithCancel(context.Background())
	es := &eventSource{events: make(chan feed.Event, 4096), done: make(chan struct{}), stop: cancel}
	go es.run(ctx, client, url)
	t.Cleanup(func() { cancel(); <-es.done })
	return es
}

func (es *eventSource) run(ctx context.Context, client *http.Client, url string) {
	defer close(es.done)
	retry := 3 * time.Second // the standard leaves the default to the browser: a few seconds
	lastID := ""
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			es.fail(err)
			return
		}
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Cache-Control", "no-cache")
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := client.Do(req)
		if err == nil {
			mt, _, mterr := mime.ParseMediaType(resp.Header.Get("Content-Type"))
			if resp.StatusCode != http.StatusOK || mterr != nil || mt != "text/event-stream" {
				resp.Body.Close()
				es.fail(fmt.Errorf("%s with Content-Type %q", resp.Status, resp.Header.Get("Content-Type")))
				return
			}
			es.mu.Lock()
			es.streams++
			es.mu.Unlock()
			r := feed.NewReader(resp.Body)
			for {
				ev, err := r.Next()
				if r.Retry >= 0 {
					retry = time.Duration(r.Retry) * time.Millisecond
				}
				if err != nil {
					break // the end, or a network error: reconnect
				}
				// The last event id buffer belongs to the response: ev.ID
				// is what a browser sets its last event id string to.
				lastID = ev.ID
				select {
				case es.events <- ev:
				case <-ctx.Done():
				}
			}
			resp.Body.Close()
		}
		select {
		case <-time.After(retry):
		case <-ctx.Done():
			return
		}
	}
}

func (es *eventSource) fail(err error) {
	es.mu.Lock()
	defer es.mu.Unlock()
	es.failure = err
}

// failed returns why the EventSource closed for good, or nil.
func (es *eventSource) failed() error {
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.failure
}

// streamsOpened counts the responses it took as a stream.
func (es *eventSource) streamsOpened() int {
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.streams
}

// next returns the next event, failing the test if the EventSource closed
// for good or no event came within 20 s.
func (es *eventSource) next(t *testing.T) feed.Event {
	t.Helper()
	select {
	case ev := <-es.events:
		return ev
	case <-es.done:
		select {
		case ev := <-es.events:
			return ev
		default:
		}
		err := es.failed()
		if err == nil {
			err = errors.New("stopped")
		}
		t.Fatalf("the EventSource closed for good: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatalf("the EventSource had no event for 20 s (closed: %v, streams opened: %d)", es.failed(), es.streamsOpened())
	}
	return feed.Event{}
}

// follow reads es's events on from id last, each one more than the one
// before (no gap, no duplicate, no reset, no snapshot), until the event
// with id until, and returns the id it stopped at.
func (es *eventSource) follow(t *testing.T, last, until uint64) uint64 {
	t.Helper()
	for last < until {
		ev := es.next(t)
		if ev.Name == "reset" || ev.Name == "snapshot" || sse.ID(t, ev) != last+1 {
			t.Fatalf("after id %d: %s id %q, want the event with id %d (a gap, a duplicate or a reset)", last, ev.Name, ev.ID, last+1)
		}
		last++
	}
	return last
}

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
			es := openEventSource(t, nil, srv.URL)
			if ev := es.next(t); ev.ID != "7" || ev.Data != "a" {
				t.Fatalf("first event: %+v", ev)
			}
			<-es.done
			if err := es.failed(); err == nil || !strings.Contains(err.Error(), strconv.Itoa(tc.status)) {
				t.Fatalf("closed with %v, want the %d answer", err, tc.status)
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(asked, ",") != ",7,7" {
				t.Errorf("Last-Event-ID sent: %q, want none, then 7 twice", asked)
			}
			if es.streamsOpened() != 1 {
				t.Errorf("streams opened: %d, want 1", es.streamsOpened())
			}
		})
	}
}
