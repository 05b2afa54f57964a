package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tickertape/feed"
	"tickertape/internal/sse"
)

// nginxBinary finds Debian's nginx, or skips the test (CI installs it, so
// there a missing nginx fails instead).
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nginx is not installed; .ci/run installs nginx-light")
	}
	t.Skip("nginx is not installed: apt-get install -y nginx-light to run this test")
	return ""
}

// freePort returns a loopback port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startNginx runs nginx in the foreground with the shipped
// deploy/nginx/tickertape.conf, its upstream pointed at nodes and its
// listen at a free port, and returns its base URL.
func startNginx(t *testing.T, nodes [2]string) string {
	t.Helper()
	bin := nginxBinary(t)
	shipped, err := os.ReadFile(filepath.Join("deploy", "nginx", "tickertape.conf"))
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	conf := string(shipped)
	for _, r := range [][2]string{
		{"server 127.0.0.1:8081 ", "server " + strings.TrimPrefix(nodes[0], "http://") + " "},
		{"server 127.0.0.1:8082 ", "server " + strings.TrimPrefix(nodes[1], "http://") + " "},
		{"listen 127.0.0.1:8080;", fmt.Sprintf("listen 127.0.0.1:%d;", port)},
	} {
		if strings.Count(conf, r[0]) != 1 {
			t.Fatalf("deploy/nginx/tickertape.conf: want %q once (the test swaps it for a free port)", r[0])
		}
		conf = strings.Replace(conf, r[0], r[1], 1)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tickertape.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	main := fmt.Sprintf(`daemon off;
master_process off;
%[2]s
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 256; }
http {
    access_log off;
    # As a site's global settings might: the shipped file must cope.
    gzip on;
    gzip_types text/event-stream application/json;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/tickertape.conf;
}
`, dir, user)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) // fast shutdown: open streams are cut
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %v\n%s\n%s", err, out.Bytes(), log)
		case <-time.After(20 * time.Millisecond): // polling an outside process
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not answer on %s: %v", base, err)
		}
	}
}

// nextWithin reads the next event, failing if none comes within d: a
// buffering proxy would hold small live events back far longer.
func nextWithin(t *testing.T, c *sse.Client, d time.Duration) feed.Event {
	t.Helper()
	type result struct {
		ev  feed.Event
		err error
	}
	got := make(chan result, 1)
	go func() {
		ev, err := c.Reader.Next()
		got <- result{ev, err}
	}()
	select {
	case r := <-got:
		if r.err != nil {
			t.Fatalf("reading through nginx: %v", r.err)
		}
		return r.ev
	case <-time.After(d):
		c.Stop() // ends the read above
		<-got
		t.Fatalf("no event through nginx within %s: the proxy buffers the stream", d)
		return feed.Event{}
	}
}

// nodeProcess is a tickertape node in a process of its own (this test
// binary, running main), so that it can be killed as kill -9 does.
type nodeProcess struct {
	reach         // url: http://127.0.0.1:port (https: with -tls-cert)
	addr   string // 127.0.0.1:port, to start it again on
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // how it exited, once exited is closed
	stderr *syncBuffer
}

// startNodeProcess runs a node listening on addr (127.0.0.1:0 for a free
// port) with args, and waits until it serves. It is killed at the end of
// the test if it still runs.
func startNodeProcess(t *testing.T, addr string, args ...string) *nodeProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-addr", addr}, args...)...)
	cmd.Env = append(os.Environ(), "TICKERTAPE_TEST_MAIN=1")
	var stdout syncBuffer
	n := &nodeProcess{cmd: cmd, exited: make(chan struct{}), stderr: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = &stdout, n.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.err = cmd.Wait(); close(n.exited) }()
	t.Cleanup(func() { n.kill(t) })
	deadline := time.Now().Add(20 * time.Second)
	for {
		// run prints this line once the node listens and its source is ready.
		if line, _, ok := strings.Cut(string(stdout.Bytes()), "\n"); ok {
			n.url = strings.TrimSpace(strings.TrimPrefix(line, "tickertape: listening on "))
			n.addr = n.host()
			return n
		}
		select {
		case <-n.exited:
			t.Fatalf("node on %s exited: %v; stderr: %s", addr, n.err, n.stderr)
		case <-time.After(20 * time.Millisecond): // polling an outside process
		}
		if time.Now().After(deadline) {
			t.Fatalf("node on %s did not start; stderr: %s", addr, n.stderr)
		}
	}
}

// kill ends the node at once, as kill -9 does: its streams are cut, not
// ended.
func (n *nodeProcess) kill(t *testing.T) {
	t.Helper()
	n.cmd.Process.Kill()
	<-n.exited
}

// term sends SIGTERM and returns how the node exited.
func (n *nodeProcess) term(t *testing.T) error {
	t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.exited:
		return n.err
	case <-time.After(30 * time.Second):
		t.Fatalf("node %s did not stop after SIGTERM; stderr: %s", n.url, n.stderr)
		return nil
	}
}

// Two consumer nodes behind the shipped nginx config: the stream is not
// buffered, /ws upgrades, and EventSource clients always resume with no
// gap, whatever their nodes do: a node stops (SIGTERM), comes back and
// takes new streams at once, the other one is killed (-9), then both are
// down for seconds and one comes back. No nginx error may reach a client:
// an EventSource closes for good on any non-200 answer.
func TestNginxTwoNodes(t *testing.T) {
	t.Parallel()
	nginxBinary(t) // skip before starting anything
	ns := sse.StartNATS(t, t.TempDir(), 0)
	url := ns.ClientURL()
	// A slow market: a buffering proxy would hold its small events for
	// many seconds before passing a buffer's worth on.
	startServer(t, nil, "-broker", url, "-broker-publish", "-rate", "4", "-symbols", "5")
	nodeArgs := []string{"-broker", url, "-heartbeat", "1s"}
	a := startNodeProcess(t, "127.0.0.1:0", nodeArgs...)
	b := startNodeProcess(t, "127.0.0.1:0", nodeArgs...)
	base := startNginx(t, [2]string{a.url, b.url})

	// Live events arrive one by one. A buffering proxy would hold even the
	// response's headers back: they must come within seconds too.
	tr := &http.Transport{ResponseHeaderTimeout: 3 * time.Second}
	defer tr.CloseIdleConnections()
	c := sse.Open(t, &http.Client{Transport: tr}, base+"/events")
	if ev := nextWithin(t, c, 3*time.Second); ev.Name != "snapshot" {
		t.Fatalf("first event through nginx: %s", ev.Name)
	}
	if got := c.Response.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/event-stream") {
		t.Fatalf("Content-Type through nginx: %q", got)
	}
	for range 3 {
		nextWithin(t, c, 3*time.Second)
	}
	c.Stop()

	// The WebSocket twin upgrades through nginx, Origin check included.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {base}},
	})
	if err != nil {
		t.Fatalf("/ws through nginx: %v", err)
	}
	_, msg, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Event, ID string }
	if err := json.Unmarshal(msg, &env); err != nil || env.Event != "snapshot" {
		t.Fatalf("first /ws message through nginx: %s (%v)", msg, err)
	}
	ws.Close(websocket.StatusNormalClosure, "")

	// A client's node stops (SIGTERM): its stream ends cleanly, and the
	// client reconnects through nginx with Last-Event-ID, as EventSource
	// does, and resumes on the other node.
	clients := func(n *nodeProcess) float64 { return metric(t, n.url, `tickertape_clients{transport="sse"}`) }
	waitClients := func(n *nodeProcess, want float64) {
		waitMetric(t, n.url, `tickertape_clients{transport="sse"}`, func(v float64) bool { return v == want })
	}
	waitClients(a, 0)
	waitClients(b, 0)
	c = sse.Open(t, nil, base+"/events")
	last := sse.ID(t, c.Next(t)) // the snapshot
	for range 5 {
		last = sse.ID(t, readRun(t, c, last, 1)[0])
	}
	on, other := a, b
	if clients(b) == 1 {
		on, other = b, a
	}
	waitClients(on, 1)
	if err := on.term(t); err != nil {
		t.Fatalf("node after SIGTERM: %v; stderr: %s", err, on.stderr)
	}
	for {
		ev, err := c.Reader.Next()
		if err != nil {
			break // the stream ended; EventSource reconnects
		}
		if got := sse.ID(t, ev); got != last+1 {
			t.Fatalf("after id %d: %s %q", last, ev.Name, ev.ID)
		}
		last++
	}
	c = sse.Open(t, nil, base+"/events", "Last-Event-ID", strconv.FormatUint(last, 10))
	readRun(t, c, last, 10)
	if v := clients(other); v != 1 {
		t.Fatalf("the resumed stream is not on the other node (clients %v)", v)
	}
	c.Stop()
	waitClients(other, 0)
	// While it is down, nginx tries it (round robin: one request of two
	// goes to it first), and answers each request from the other node.
	for range 2 {
		if resp, body := sse.Get(t, base+"/api/symbols"); resp.StatusCode != 200 {
			t.Fatalf("/api/symbols through nginx with a node down: %s %s", resp.Status, body)
		}
	}

	// The stopped node comes back. nginx found it down, and no stream it
	// takes ever completes: it must take new streams at once all the same,
	// not be shunned for having failed.
	on = startNodeProcess(t, on.addr, nodeArgs...)
	srcs := make([]*sse.EventSource, 10)
	lasts := make([]uint64, len(srcs))
	for i := range srcs {
		srcs[i] = sse.OpenEventSource(t, nil, base+"/events")
	}
	for i := range srcs {
		ev := srcs[i].Next(t)
		if ev.Name != "snapshot" {
			t.Fatalf("EventSource %d through nginx: first %s, want the snapshot", i, ev.Name)
		}
		lasts[i] = srcs[i].Follow(t, sse.ID(t, ev), sse.ID(t, ev)+3)
	}
	deadline := time.Now().Add(20 * time.Second)
	for clients(on)+clients(other) != float64(len(srcs)) {
		if time.Now().After(deadline) {
			t.Fatalf("%v and %v streams on the nodes, want %d in all", clients(on), clients(other), len(srcs))
		}
		time.Sleep(20 * time.Millisecond) // polling an outside view
	}
	if clients(on) == 0 || clients(other) == 0 {
		t.Fatalf("%v of %d new streams on the node that came back, %v on the other: nginx must use both", clients(on), len(srcs), clients(other))
	}

	// resumeAll waits until every stream runs on n, and each reads on
	// with no gap past what n had when they got there.
	resumeAll := func(n *nodeProcess, what string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for clients(n) != float64(len(srcs)) {
			for i, es := range srcs {
				if err := es.Failed(); err != nil {
					t.Fatalf("%s: EventSource %d closed for good: %v", what, i, err)
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v of %d streams resumed on %s", what, clients(n), len(srcs), n.url)
			}
			time.Sleep(20 * time.Millisecond) // polling an outside view
		}
		_, at := snapshotOf(t, n.url)
		for i, es := range srcs {
			lasts[i] = es.Follow(t, lasts[i], max(at, lasts[i])+3)
		}
	}

	// The other node is killed (-9): its streams are cut, and every one
	// resumes on the node that came back, with no gap.
	other.kill(t)
	resumeAll(on, "one node killed")

	// Every node is down: nginx can reach none, and each reconnect gets
	// its 200 retry stream rather than a 502, so no EventSource closes.
	// After 5 s of that and a few reconnects each, one node comes back and
	// every stream resumes on it, with no gap: the broker kept the events.
	on.kill(t)
	down := time.Now()
	opened := make([]int, len(srcs))
	for i, es := range srcs {
		opened[i] = es.StreamsOpened()
	}
	deadline = down.Add(30 * time.Second)
	for waiting := true; waiting; {
		waiting = time.Since(down) < 5*time.Second
		for i, es := range srcs {
			if err := es.Failed(); err != nil {
				t.Fatalf("every node down: EventSource %d closed for good: %v", i, err)
			}
			waiting = waiting || es.StreamsOpened() < opened[i]+2
		}
		if time.Now().After(deadline) {
			t.Fatal("every node down: the EventSources do not reconnect every retry: through nginx")
		}
		time.Sleep(20 * time.Millisecond) // polling an outside view; the outage lasts 5 s at least
	}
	other = startNodeProcess(t, other.addr, nodeArgs...)
	resumeAll(other, "every node down, then one back")
}
