package sse

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"testing"

	"tickertape/feed"
)

// Client is a test client of one event stream.
type Client struct {
	Response *http.Response // the stream's answer: a 200, its headers
	Reader   *feed.Reader   // its body's events, for a test that reads them itself

	url  string
	stop context.CancelFunc
}

// Open GETs url through client (nil: [http.DefaultClient]) with the
// header pairs hdr ("Last-Event-ID", "42", ...), and fails the test
// unless the answer is 200. The stream ends at the end of the test, or
// earlier by [Client.Stop].
func Open(t testing.TB, client *http.Client, url string, hdr ...string) *Client {
	t.Helper()
	return OpenContext(t, context.Background(), client, url, hdr...)
}

// OpenContext is [Open] with a request that also ends with ctx.
func OpenContext(t testing.TB, ctx context.Context, client *http.Client, url string, hdr ...string) *Client {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	return &Client{Response: resp, Reader: feed.NewReader(resp.Body), url: url, stop: cancel}
}

// Next returns the stream's next event, failing the test if there is
// none (an error, or the end of the stream).
func (c *Client) Next(t testing.TB) feed.Event {
	t.Helper()
	ev, err := c.Reader.Next()
	if err != nil {
		t.Fatalf("reading the stream %s: %v", c.url, err)
	}
	return ev
}

// Stop ends the stream: a read it interrupts returns an error.
func (c *Client) Stop() { c.stop() }

// ID returns the id ev carries, as a number, and fails the test if it
// carries none: a reset has no id of its own (the reader reports the last
// one in force, see [feed.Event]), and any other event's id must be a
// decimal number.
func ID(t testing.TB, ev feed.Event) uint64 {
	t.Helper()
	if ev.Name == feed.EventReset {
		t.Fatalf("a reset (%s) carries no id; the last in force is %q", ev.Data, ev.ID)
	}
	n, err := strconv.ParseUint(ev.ID, 10, 64)
	if err != nil {
		t.Fatalf("%s event with id %q: %v", ev.Name, ev.ID, err)
	}
	return n
}

// Get makes a GET request of url with the header pairs hdr, as [Do].
func Get(t testing.TB, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	return Do(t, newGet(t, url, hdr))
}

func newGet(t testing.TB, url string, hdr []string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return req
}

// Do sends req with [http.DefaultClient] and returns the response and its
// whole body (closed), failing the test if either cannot be had.
func Do(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	return do(t, http.DefaultClient, req)
}

func do(t testing.TB, client *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	req.Header.Set("Accept-Encoding", req.Header.Get("Accept-Encoding")) // no transparent gzip unless asked
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}
