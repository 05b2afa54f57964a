package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tickertape/feed"
)

func TestMain(m *testing.M) {
	// The test binary doubles as the server binary for tests that send
	// it real signals.
	if os.Getenv("TICKERTAPE_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// server is a tickertape started through run, as main starts it.
type server struct {
	url    string
	cancel context.CancelFunc
	done   chan error
	stderr *syncBuffer
}

// startServer runs the server with args (and -addr 127.0.0.1:0 unless args
// name an address) and waits until it listens. It is stopped, as SIGTERM
// would, at the end of the test.
func startServer(t *testing.T, env map[string]string, args ...string) *server {
	t.Helper()
	hasAddr := false
	for _, a := range args {
		hasAddr = hasAddr || a == "-addr"
	}
	if !hasAddr {
		args = append([]string{"-addr", "127.0.0.1:0"}, args...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &server{cancel: cancel, done: make(chan error, 1), stderr: &syncBuffer{}}
	go func() {
		err := run(ctx, args, func(k string) string { return env[k] }, pw, s.stderr)
		pw.CloseWithError(errors.New("server stopped"))
		s.done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	if err != nil {
		cancel()
		t.Fatalf("server did not start: %v; %v; stderr: %s", err, <-s.done, s.stderr)
	}
	s.url = strings.TrimSpace(strings.TrimPrefix(line, "tickertape: listening on "))
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop shuts the server down and returns run's error.
func (s *server) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case err, ok := <-s.done:
		if ok {
			close(s.done)
			return err
		}
		return nil
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not stop; stderr: %s", s.stderr)
		return nil
	}
}

func get(t *testing.T, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	req.Header.Set("Accept-Encoding", req.Header.Get("Accept-Encoding")) // no transparent gzip unless asked
	resp, err := http.DefaultClient.Do(req)
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

// sseClient is a test client of /events.
type sseClient struct {
	resp *http.Response
	r    *feed.Reader
	stop context.CancelFunc
}

func openEvents(t *testing.T, client *http.Client, url string, hdr ...string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
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
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		cancel()
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	c := &sseClient{resp: resp, r: feed.NewReader(resp.Body), stop: cancel}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	return c
}

func (c *sseClient) next(t *testing.T) feed.Event {
	t.Helper()
	ev, err := c.r.Next()
	if err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	return ev
}

// syncBuffer is a bytes.Buffer safe for a server's (or a child's) stderr
// writer and the test that reads it, bounded so a chatty server cannot
// grow it without end.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < 64<<10 {
		b.buf.Write(p)
	}
	return len(p), nil
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.buf.Bytes())
}

func (b *syncBuffer) String() string { return string(b.Bytes()) }
