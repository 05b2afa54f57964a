package feed

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Clients live in a child process (this test binary, run as streamClients),
// so that the server's heap is measured alone, and so that the two ends of
// 10,000 connections do not share one process's limit of open files.
const streamClientsEnv = "FEED_TEST_STREAM_CLIENTS" // "ADDR N QUERY"

// streamClients holds n streams to addr open until its stdin ends: it
// reads each one's headers and first event, then says "ready".
func streamClients(spec string) int {
	var addr, query string
	var n int
	if _, err := fmt.Sscan(spec, &addr, &n, &query); err != nil {
		fmt.Fprintln(os.Stderr, "stream clients:", err)
		return 2
	}
	conns := make([]net.Conn, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range conns {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
			fmt.Fprintf(c, "GET /%s HTTP/1.1\r\nHost: x\r\n\r\n", query)
			// Up to the end of the first event: headers, retry, snapshot.
			br := bufio.NewReaderSize(c, 512)
			blank := 0
			for blank < 3 {
				line, err := br.ReadSlice('\n')
				if err != nil && err != bufio.ErrBufferFull {
					errs <- err
					return
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					blank++
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		fmt.Fprintln(os.Stderr, "stream clients:", err)
		return 1
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	return 0
}

// 10,000 idle hijacked streams cost the server at most maxStreamBytes of
// heap and stack each, and no goroutine each: a socket, a cursor, a filter.
func TestIdleStreamsHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 connections")
	}
	const n = 10000
	const maxStreamBytes = 1536 // about 1230 measured
	f := newFixture(t, hijacked, 1000, Options{MaxStreams: 2 * n})
	PublishTestEvents(t, f.log, 8)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), streamClientsEnv+"="+f.srv.Listener.Addr().String()+" "+strconv.Itoa(n)+" ?events=quote")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("clients: %q %v", line, err)
	}
	waitFor(t, f, `tickertape_clients{transport="sse"} `+strconv.Itoa(n)+"\n")
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapInuse) - int64(before.HeapInuse)
	stack := int64(after.StackInuse) - int64(before.StackInuse)
	per := (heap + stack) / n
	extra := runtime.NumGoroutine() - goroutines
	t.Logf("%d idle streams: heap %+d KiB, stacks %+d KiB: %d bytes per stream; %+d goroutines",
		n, heap>>10, stack>>10, per, extra)
	if per > maxStreamBytes {
		t.Errorf("%d bytes of heap and stack per idle stream, want at most %d", per, maxStreamBytes)
	}
	if extra > n/100 {
		t.Errorf("%d more goroutines for %d streams: a goroutine per stream", extra, n)
	}
	if served := f.hub.writers.served.Load(); served != n {
		t.Errorf("%d of %d streams on the writers", served, n)
	}
}
