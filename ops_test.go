package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"tickertape/compare/bench"
	"tickertape/internal/sse"
)

// metric returns the value of one series on /metrics, or -1.
func metric(t *testing.T, base, series string) float64 {
	t.Helper()
	return metricVia(t, http.DefaultClient, base, series)
}

// metricVia is metric through client.
func metricVia(t *testing.T, client *http.Client, base, series string) float64 {
	t.Helper()
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return -1
}

// waitMetric polls /metrics until series satisfies ok.
func waitMetric(t *testing.T, base, series string, ok func(float64) bool) float64 {
	t.Helper()
	return waitMetricVia(t, http.DefaultClient, base, series, ok)
}

// waitMetricVia is waitMetric through client.
func waitMetricVia(t *testing.T, client *http.Client, base, series string, ok func(float64) bool) float64 {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		v := metricVia(t, client, base, series)
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s stayed at %v", series, v)
		}
		time.Sleep(20 * time.Millisecond) // polling an outside view, not synchronising
	}
}

// SIGTERM with open streams: the process exits 0 within the grace period,
// every stream ends cleanly (a finished chunked response), and a client
// that reconnects to the next server with its last id gets reset +
// snapshot (an earlier run's id), never a silent gap.
func TestSIGTERMWithOpenStreams(t *testing.T) { sse.OnBothPaths(t, testSIGTERMWithOpenStreams) }

func testSIGTERMWithOpenStreams(t *testing.T, p sse.Path) {
	node := startNodeOn(t, p, "-rate", "500", "-grace", "3s")

	type result struct {
		lastID string
		err    error
		hint   bool
	}
	results := make(chan result, 3)
	for range 3 {
		c := node.open(t, "/events")
		go func() {
			br := bufio.NewReader(c.Response.Body)
			var last string
			hint := false
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					// io.EOF means the body ended properly (the last
					// chunk, or HTTP/2's end of stream); anything else,
					// a cut connection.
					results <- result{last, err, hint}
					return
				}
				if id, ok := strings.CutPrefix(line, "id: "); ok {
					last = strings.TrimSpace(id)
				}
				hint = hint || strings.HasPrefix(line, ": server shutting down")
			}
		}()
	}
	node.waitMetric(t, `tickertape_clients{transport="sse"}`, func(v float64) bool { return v == 3 })
	node.waitMetric(t, `tickertape_events_sent_total{transport="sse"}`, func(v float64) bool { return v > 30 })

	start := time.Now()
	if err := node.term(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v; stderr: %s", err, node.stderr)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("shutdown took %s, more than the 3s grace", took)
	}
	var last string
	for range 3 {
		r := <-results
		if !errors.Is(r.err, io.EOF) || !r.hint || r.lastID == "" {
			t.Fatalf("stream ended with %v (hint %v, last id %q), want a clean end after a reconnect hint", r.err, r.hint, r.lastID)
		}
		last = r.lastID
	}

	// The next server: the old id is from an earlier run.
	next := startServerOn(t, p, nil)
	c := next.open(t, "/events", "Last-Event-ID", last)
	if ev := c.Next(t); ev.Name != "reset" || !strings.Contains(ev.Data, "too_old") {
		t.Fatalf("resuming from the last run's id %s: %s %s, want reset too_old", last, ev.Name, ev.Data)
	}
	if ev := c.Next(t); ev.Name != "snapshot" {
		t.Fatalf("after reset: %s", ev.Name)
	}
}

// In-process shutdown with open streams: run returns nil, the streams
// end, and nothing is left running (goleak checks at the end).
func TestShutdownEndsStreams(t *testing.T) { sse.OnBothPaths(t, testShutdownEndsStreams) }

func testShutdownEndsStreams(t *testing.T, p sse.Path) {
	s := startServerOn(t, p, nil, "-rate", "200")
	c := s.open(t, "/events")
	c.Next(t)
	if err := s.stop(t); err != nil {
		t.Fatalf("run after shutdown: %v", err)
	}
	for {
		if _, err := c.Reader.Next(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("stream ended with %v, want a clean end", err)
			}
			break
		}
	}
}

// In-process shutdown during a bench run started from the dashboard: run
// stops the job and waits for it, so that when run returns none of the
// job's goroutines is left. Not parallel: no other test's job is about
// when it looks.
func TestShutdownWaitsForBenchJob(t *testing.T) {
	s := startServer(t, nil, "-rate", "100")
	job := startJob(t, s.url, `{"clients":2,"duration":"60s","rate":100,"transports":["sse"]}`)
	c := sse.Open(t, nil, s.url+"/api/jobs/"+job+"/events")
	for ev := c.Next(t); !strings.Contains(ev.Data, `"phase":"running"`); ev = c.Next(t) {
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("run after shutdown: %v", err)
	}
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	// The job's goroutine may still be on its way out past its
	// WaitGroup's Done, but never inside the run it does before.
	for _, fn := range []string{"tickertape/compare/bench.Run(", "tickertape/compare/bench.runTransport("} {
		if strings.Contains(stacks, fn) {
			t.Errorf("run has returned, and %s still runs:\n%s", fn, stacks)
		}
	}
}

// Stuck clients (that never read) beside a normal client at a high rate:
// the normal client sees every id, the stuck ones are dropped at their
// write deadline, and memory stays bounded.
func TestStuckClientBesideNormalClient(t *testing.T) {
	sse.OnBothPaths(t, testStuckClientBesideNormalClient)
}

func testStuckClientBesideNormalClient(t *testing.T, p sse.Path) {
	s := startServerOn(t, p, nil, "-rate", "5000", "-write-timeout", "1s", "-symbols", "200")
	for range 5 {
		s.stalled(t, "/events")
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	c := s.open(t, "/events")
	snap := c.Next(t)
	prev := sse.ID(t, snap)
	deadline := time.Now().Add(60 * time.Second)
	seen := 0
	for s.metric(t, `tickertape_streams_dropped_total{cause="write_timeout",transport="sse"}`) < 5 {
		if time.Now().After(deadline) {
			t.Fatal("the stuck clients were never dropped")
		}
		for range 2000 {
			ev := c.Next(t)
			id := sse.ID(t, ev)
			if id != prev+1 {
				t.Fatalf("normal client: %s id %d after %d", ev.Name, id, prev)
			}
			prev = id
			seen++
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("normal client saw %d events without a gap; 5 stuck clients dropped; heap in use %d MiB -> %d MiB",
		seen, before.HeapInuse>>20, after.HeapInuse>>20)
	if grew > 64<<20 {
		t.Errorf("heap grew by %d MiB with stuck clients: not bounded", grew>>20)
	}
	s.waitMetric(t, `tickertape_clients{transport="sse"}`, func(v float64) bool { return v == 1 })
}

// Churn: thousands of connects and disconnects leave the clients gauge at
// zero and (goleak, at the end of the package) no goroutine behind.
func TestChurn(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, "-rate", "500")
	host := strings.TrimPrefix(s.url, "http://")
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 2000
	errs := make(chan error, 8)
	for w := range 8 {
		go func() {
			for i := w; i < n; i += 8 {
				conn, err := net.Dial("tcp", host)
				if err != nil {
					errs <- err
					return
				}
				fmt.Fprintf(conn, "GET /events?symbols=AAPL,MSFT HTTP/1.1\r\nHost: x\r\n\r\n")
				if i%2 == 0 { // half read the start of the stream, half vanish at once
					conn.Read(make([]byte, 512))
				}
				conn.Close()
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	waitMetric(t, s.url, `tickertape_clients{transport="sse"}`, func(v float64) bool { return v == 0 })
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("%d connects and disconnects; heap in use %d MiB -> %d MiB; goroutines now %d", n, before.HeapInuse>>20, after.HeapInuse>>20, runtime.NumGoroutine())
}

// HTTP/2 over TLS: a stream delivers events over h2 and resumes.
func TestHTTP2OverTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, pool := writeTestCert(t, dir)
	s := startServer(t, nil, "-tls-cert", certFile, "-tls-key", keyFile, "-rate", "200")
	if !strings.HasPrefix(s.url, "https://") {
		t.Fatalf("listening on %s, want https", s.url)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	c := sse.Open(t, client, s.url+"/events?events=quote")
	if c.Response.ProtoMajor != 2 {
		t.Fatalf("protocol %s, want HTTP/2", c.Response.Proto)
	}
	c.Next(t) // snapshot
	var ids []string
	for range 5 {
		ids = append(ids, c.Next(t).ID)
	}
	c.Stop()
	r := sse.Open(t, client, s.url+"/events?events=quote", "Last-Event-ID", ids[1])
	if ev := r.Next(t); ev.ID != ids[2] {
		t.Fatalf("resumed after %s with %s %s, want %s", ids[1], ev.Name, ev.ID, ids[2])
	}
}

// writeTestCert writes a certificate for loopback, made in memory as the
// bench's TLS server's is, to dir: the files -tls-cert and -tls-key take,
// and the pool a client trusts it by.
func writeTestCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	c, err := bench.NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, c.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, c.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, c.Pool
}
