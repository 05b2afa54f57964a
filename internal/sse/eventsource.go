package sse

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"sync"
	"testing"
	"time"

	"tickertape/feed"
)

// EventSource is a client of an event stream that behaves as a browser's
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
type EventSource struct {
	events chan feed.Event // every dispatched event, in order
	done   chan struct{}   // closed when it has closed (for good, or stopped)
	stop   context.CancelFunc

	mu      sync.Mutex
	streams int   // responses taken as a stream: 200, text/event-stream
	failure error // why it closed for good; nil while it runs
}

// OpenEventSource starts an EventSource on url through client (nil: a
// client of its own). It runs until the end of the test.
func OpenEventSource(t testing.TB, client *http.Client, url string) *EventSource {
	t.Helper()
	if client == nil {
		tr := &http.Transport{}
		t.Cleanup(tr.CloseIdleConnections)
		client = &http.Client{Transport: tr}
	}
	ctx, cancel := context.WithCancel(context.Background())
	es := &EventSource{events: make(chan feed.Event, 4096), done: make(chan struct{}), stop: cancel}
	go es.run(ctx, client, url)
	t.Cleanup(func() { cancel(); <-es.done })
	return es
}

func (es *EventSource) run(ctx context.Context, client *http.Client, url string) {
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

func (es *EventSource) fail(err error) {
	es.mu.Lock()
	defer es.mu.Unlock()
	es.failure = err
}

// Failed returns why the EventSource closed for good, or nil.
func (es *EventSource) Failed() error {
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.failure
}

// Done is closed when es has closed: for good, or at the end of the test.
func (es *EventSource) Done() <-chan struct{} { return es.done }

// StreamsOpened counts the responses it took as a stream.
func (es *EventSource) StreamsOpened() int {
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.streams
}

// Next returns the next event, failing the test if the EventSource closed
// for good or no event came within 20 s.
func (es *EventSource) Next(t testing.TB) feed.Event {
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
		err := es.Failed()
		if err == nil {
			err = errors.New("stopped")
		}
		t.Fatalf("the EventSource closed for good: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatalf("the EventSource had no event for 20 s (closed: %v, streams opened: %d)", es.Failed(), es.StreamsOpened())
	}
	return feed.Event{}
}

// Follow reads es's events on from id last, each one more than the one
// before (no gap, no duplicate, no reset, no snapshot), until the event
// with id until, and returns the id it stopped at.
func (es *EventSource) Follow(t testing.TB, last, until uint64) uint64 {
	t.Helper()
	for last < until {
		ev := es.Next(t)
		if ev.Name == "reset" || ev.Name == "snapshot" || ID(t, ev) != last+1 {
			t.Fatalf("after id %d: %s id %q, want the event with id %d (a gap, a duplicate or a reset)", last, ev.Name, ev.ID, last+1)
		}
		last++
	}
	return last
}
