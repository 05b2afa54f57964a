package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
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

// server is a tickertape started through run, as main starts it, with
// all it prints kept.
type server struct {
	reach
	cancel         context.CancelFunc
	done           chan error
	stdout, stderr *syncBuffer
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
	s := &server{cancel: cancel, done: make(chan error, 1), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	copied := make(chan struct{}) // closed when all run printed is in s.stdout
	go func() {
		err := run(ctx, args, func(k string) string { return env[k] }, pw, s.stderr)
		pw.CloseWithError(errors.New("server stopped"))
		<-copied
		s.done <- err
	}()
	br := bufio.NewReader(pr)
	line, err := br.ReadString('\n')
	s.stdout.Write([]byte(line))
	go func() { io.Copy(s.stdout, br); close(copied) }()
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
