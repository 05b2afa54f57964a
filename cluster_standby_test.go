package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"tickertape/feed"
	"tickertape/internal/sse"
	"tickertape/market"
)

// brokerProxy forwards TCP connections to a broker, and can cut them all
// as a broken network would, so that one node loses the broker while the
// others keep it.
type brokerProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]bool
}

// startProxy forwards a free loopback port to target (host:port) until
// the end of the test.
func startProxy(t *testing.T, target string) *brokerProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &brokerProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.closeAll()
		p.wg.Wait()
	})
	return p
}

func (p *brokerProxy) url() string { return "nats://" + p.ln.Addr().String() }

func (p *brokerProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close() // the broker is not reachable from here
			continue
		}
		p.conns[c] = true
		p.mu.Unlock()
		p.wg.Go(func() { p.forward(c) })
	}
}

func (p *brokerProxy) forward(c net.Conn) {
	defer p.drop(c)
	b, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		b.Close()
		return
	}
	p.conns[b] = true
	p.mu.Unlock()
	defer p.drop(b)
	done := make(chan struct{}, 2)
	go func() { io.Copy(b, c); done <- struct{}{} }()
	go func() { io.Copy(c, b); done <- struct{}{} }()
	<-done
	c.Close()
	b.Close()
	<-done
}

func (p *brokerProxy) drop(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *brokerProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// setCut cuts every connection through the proxy and refuses new ones
// (true), or lets them through again (false).
func (p *brokerProxy) setCut(cut bool) {
	p.mu.Lock()
	p.cut = cut
	p.mu.Unlock()
	if cut {
		p.closeAll()
	}
}

// brokerURL is the NATS broker of a test: Debian's nats-server, run as a
// process, when TICKERTAPE_TEST_NATS_SERVER names its binary (.ci/run
// does so for one end-to-end run), or else the embedded one.
func brokerURL(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("TICKERTAPE_TEST_NATS_SERVER")
	if bin == "" {
		return sse.StartNATS(t, t.TempDir(), 0).ClientURL()
	}
	port := freePort(t)
	cmd := exec.Command(bin, "-js", "-sd", t.TempDir(), "-a", "127.0.0.1", "-p", strconv.Itoa(port))
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		nc, err := nats.Connect(url)
		if err == nil {
			nc.Close()
			t.Logf("broker: %s (%s)", bin, strings.SplitN(out.String(), "\n", 2)[0])
			return url
		}
		select {
		case <-exited:
			t.Fatalf("%s exited: %s", bin, out.String())
		case <-time.After(20 * time.Millisecond): // polling an outside process
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer: %v\n%s", bin, err, out.String())
		}
	}
}

// brokered is one event as the events stream holds it.
type brokered struct {
	seq  uint64
	id   uint64
	pos  uint64 // its index in its source
	term string
	data string
}

// streamEvents reads every event the broker at url holds, in order.
func streamEvents(t *testing.T, url string) []brokered {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "TICKERTAPE")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []brokered
	for uint64(len(out)) < info.State.Msgs {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			meta, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			id, _ := strconv.ParseUint(m.Headers().Get("Tickertape-Id"), 10, 64)
			pos, _ := strconv.ParseUint(m.Headers().Get("Tickertape-Pos"), 10, 64)
			out = append(out, brokered{meta.Sequence.Stream, id, pos, m.Headers().Get("Tickertape-Term"), string(m.Data())})
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			t.Fatal(err)
		}
		if ctx.Err() != nil {
			t.Fatalf("read %d of the stream's %d events", len(out), info.State.Msgs)
		}
	}
	return out
}

// checkStream checks that the broker holds one event per id, in one
// sequence without a gap, and its leaders' terms in order: no two nodes
// ever published an id, let alone with different data. It returns the
// events by id.
func checkStream(t *testing.T, url string) map[uint64]brokered {
	t.Helper()
	evs := streamEvents(t, url)
	byID := make(map[uint64]brokered, len(evs))
	terms := []string{}
	for i, e := range evs {
		if i > 0 && e.id != evs[i-1].id+1 {
			t.Fatalf("the events stream: message %d has id %d after %d", e.seq, e.id, evs[i-1].id)
		}
		if len(terms) == 0 || terms[len(terms)-1] != e.term {
			if slices.Contains(terms, e.term) {
				t.Fatalf("the events stream: term %s again at message %d, after %v", e.term, e.seq, terms)
			}
			terms = append(terms, e.term)
		}
		byID[e.id] = e
	}
	t.Logf("the events stream: %d events, ids %d…%d, %d terms of leadership", len(evs), evs[0].id, evs[len(evs)-1].id, len(terms))
	return byID
}

// logOnFailure logs the nodes' logs at the end of a test that failed.
func logOnFailure(t *testing.T, nodes ...*server) {
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range nodes {
				t.Logf("log of %s:\n%s", n.url, n.stderr)
			}
		}
	})
}

// leaders returns the nodes whose tickertape_broker_leader is 1, failing
// if the gauge is neither 0 nor 1 on one of them.
func leaders(t *testing.T, urls ...string) []string {
	t.Helper()
	var out []string
	for _, u := range urls {
		switch v := metric(t, u, "tickertape_broker_leader"); v {
		case 1:
			out = append(out, u)
		case 0:
		default:
			t.Fatalf("%s: tickertape_broker_leader %v", u, v)
		}
	}
	return out
}

// waitLeader waits until exactly one of the nodes leads, and returns it.
func waitLeader(t *testing.T, urls ...string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if l := leaders(t, urls...); len(l) == 1 {
			return l[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no single leader among %v: %v", urls, leaders(t, urls...))
		}
		time.Sleep(50 * time.Millisecond) // polling an outside view
	}
}

// Two nodes with the same -broker-publish flags and a consumer: exactly
// one leads, the other stands by, and all three stream the same events
// with the same ids. Each node logs who leads.
func TestClusterStandby(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	args := []string{"-broker", url, "-broker-publish", "-rate", "20", "-symbols", "20"}
	a := startServer(t, nil, args...)
	b := startServer(t, nil, args...)
	c := startServer(t, nil, "-broker", url)
	lead := waitLeader(t, a.url, b.url)
	if got := leaders(t, a.url, b.url, c.url); len(got) != 1 {
		t.Fatalf("leaders: %v, want one", got)
	}
	standby := map[string]*server{a.url: b, b.url: a}[lead]

	_, from := snapshotOf(t, lead)
	for _, n := range []*server{a, b, c} {
		waitForID(t, n.url, from)
	}
	last := strconv.FormatUint(from, 10)
	var want []feed.Event
	for i, n := range []*server{a, b, c} {
		got := readRun(t, sse.Open(t, nil, n.url+"/events", "Last-Event-ID", last), from, 100)
		if i == 0 {
			want = got
			continue
		}
		for k, ev := range got {
			if ev != want[k] {
				t.Fatalf("%s: event %d differs from %s's:\n%+v\n%+v", n.url, k, a.url, ev, want[k])
			}
		}
	}
	for _, n := range []*server{a, b, c} {
		if !strings.Contains(n.stderr.String(), `msg="leader: `) {
			t.Errorf("%s does not log who leads; its log:\n%s", n.url, n.stderr)
		}
	}
	if !strings.Contains(standby.stderr.String(), `"this node"=false`) {
		t.Errorf("the standby does not log the other node as leader:\n%s", standby.stderr)
	}
	checkStream(t, url)
}

// The leader is killed (kill -9), five times over: each time the standby
// takes over within seconds, continuing the ids and the market, and a
// consumer's client sees no gap, no duplicate and no reset. The killed
// node comes back as the standby. The pause each client sees (from the
// kill to the new leader's first event) is logged, and its median.
func TestClusterLeaderKilled(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	args := []string{"-broker", url, "-broker-publish", "-rate", "50", "-symbols", "20"}
	nodes := []*nodeProcess{startNodeProcess(t, "127.0.0.1:0", args...), startNodeProcess(t, "127.0.0.1:0", args...)}
	c := startServer(t, nil, "-broker", url)

	// The client records when each event arrives.
	cl := sse.Open(t, nil, c.url+"/events")
	arrived := make(chan struct {
		ev feed.Event
		at time.Time
	}, 1<<16)
	go func() {
		for {
			ev, err := cl.Reader.Next()
			if err != nil {
				close(arrived)
				return
			}
			arrived <- struct {
				ev feed.Event
				at time.Time
			}{ev, time.Now()}
		}
	}()
	next := func() (feed.Event, time.Time) {
		select {
		case a, ok := <-arrived:
			if !ok {
				t.Fatal("the consumer's stream ended")
			}
			return a.ev, a.at
		case <-time.After(30 * time.Second):
			t.Fatal("no event on the consumer's stream for 30 s")
		}
		return feed.Event{}, time.Time{}
	}
	ev, _ := next()
	if ev.Name != "snapshot" {
		t.Fatalf("first event %s", ev.Name)
	}
	last := sse.ID(t, ev)
	arrivals := map[uint64]time.Time{}
	follow := func(until func(id uint64) bool) {
		t.Helper()
		for {
			ev, at := next()
			if id := sse.ID(t, ev); ev.Name == "reset" || ev.Name == "snapshot" || id != last+1 {
				t.Fatalf("after id %d: %s id %q (a gap, a duplicate or a reset)", last, ev.Name, ev.ID)
			}
			last++
			arrivals[last] = at
			if until(last) {
				return
			}
		}
	}
	start := last
	follow(func(id uint64) bool { return id > start+20 })

	var pauses []time.Duration
	for round := range 5 {
		urls := []string{nodes[0].url, nodes[1].url}
		lead := waitLeader(t, urls...)
		k := slices.Index(urls, lead)
		before := last // an event of the killed leader
		killed := time.Now()
		nodes[k].kill(t)
		// The new leader's first event is the first of another term on the
		// broker; the client must get to it, and on, with no gap.
		var first uint64
		deadline := killed.Add(60 * time.Second)
		for first == 0 {
			follow(func(uint64) bool { return true })
			if l := leaders(t, nodes[1-k].url); len(l) == 1 {
				first = firstOfNewTerm(t, url, before)
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the standby did not take over within 60 s", round)
			}
		}
		follow(func(id uint64) bool { return id >= first+10 })
		pause := arrivals[first].Sub(killed)
		t.Logf("round %d: leader %s killed; events flowed again after %v", round, lead, pause.Round(time.Millisecond))
		if pause > 10*time.Second {
			t.Errorf("round %d: events flowed again %v after the kill, want within 10 s", round, pause)
		}
		pauses = append(pauses, pause)
		nodes[k] = startNodeProcess(t, "127.0.0.1:0", args...)
		if got := waitLeader(t, nodes[0].url, nodes[1].url); got != nodes[1-k].url {
			t.Fatalf("round %d: the node that came back leads (%s)", round, got)
		}
	}
	slices.Sort(pauses)
	t.Logf("pause from kill -9 to the new leader's first event on a consumer's client: median %v, min %v, max %v",
		pauses[len(pauses)/2].Round(time.Millisecond), pauses[0].Round(time.Millisecond), pauses[len(pauses)-1].Round(time.Millisecond))
	if v := metric(t, c.url, "tickertape_broker_gaps_total"); v != 0 {
		t.Errorf("the consumer counted %v id gaps", v)
	}
	checkStream(t, url)
}

// firstOfNewTerm returns the id of the first event on the broker after
// id `after` whose leader's term differs from that of the event `after`,
// or 0 if there is none yet.
func firstOfNewTerm(t *testing.T, url string, after uint64) uint64 {
	t.Helper()
	evs := streamEvents(t, url)
	term := ""
	for _, e := range evs {
		switch {
		case e.id == after:
			term = e.term
		case e.id > after && term != "" && e.term != term:
			return e.id
		}
	}
	return 0
}

// A leader cut off from the broker while its process lives: it steps
// down once its lease runs out (tickertape_broker_leader 0, a log line),
// the standby takes over, and the cut-off node's /healthz says 503. Its
// own clients never had an event the broker does not hold, so there is
// nothing to take back: their streams stay open (heartbeats), and once
// the broker is back they go on with the new leader's events, with no
// gap and no reset. The node stays a standby. On the broker, each id is
// there once, and what the cut-off node's client got is what the broker
// holds.
func TestClusterLeaderCutOff(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	proxy := startProxy(t, strings.TrimPrefix(url, "nats://"))
	flags := []string{"-broker-publish", "-rate", "50", "-symbols", "10", "-broker-stale", "1s", "-heartbeat", "200ms"}
	l := startServer(t, nil, append([]string{"-broker", proxy.url()}, flags...)...)
	if got := waitLeader(t, l.url); got != l.url {
		t.Fatal("the first node does not lead")
	}
	s := startServer(t, nil, append([]string{"-broker", url}, flags...)...)
	logOnFailure(t, l, s)
	if got := waitLeader(t, l.url, s.url); got != l.url {
		t.Fatalf("the standby leads: %s", got)
	}
	cl := sse.Open(t, nil, l.url+"/events")
	last := sse.ID(t, cl.Next(t))
	got := readRun(t, cl, last, 30)
	last = sse.ID(t, got[len(got)-1])

	proxy.setCut(true)
	waitMetric(t, s.url, "tickertape_broker_leader", func(v float64) bool { return v == 1 })
	// The cut-off leader stepped down before its lease ran out on the
	// broker, so before the standby could take over: never two leaders.
	if got := leaders(t, l.url, s.url); len(got) != 1 {
		t.Fatalf("after the cut: leaders %v, want the standby alone", got)
	}
	if !strings.Contains(l.stderr.String(), "stepped down") {
		t.Errorf("the cut-off leader does not say it stepped down:\n%s", l.stderr)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, body := sse.Get(t, l.url+"/healthz"); resp.StatusCode == 503 {
			if !strings.Contains(body, `"reason":"broker"`) {
				t.Errorf("/healthz of the cut-off node: %s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/healthz of the cut-off node stays 200")
		}
		time.Sleep(50 * time.Millisecond) // polling an outside view
	}
	_, sAt := snapshotOf(t, s.url)
	waitForID(t, s.url, sAt+20) // the new leader publishes on
	heartbeats := cl.Reader.Comments

	proxy.setCut(false)
	_, sAt = snapshotOf(t, s.url)
	got = append(got, readRun(t, cl, last, int(sAt-last)+20)...)
	if cl.Reader.Comments == heartbeats {
		t.Error("no heartbeat on the cut-off node's stream while it was cut off")
	}
	if resp, _ := sse.Get(t, l.url+"/healthz"); resp.StatusCode != 200 {
		t.Errorf("/healthz once the broker is back: %s", resp.Status)
	}
	if got := leaders(t, l.url, s.url); len(got) != 1 || got[0] != s.url {
		t.Errorf("leaders once the broker is back: %v, want the standby that took over", got)
	}
	byID := checkStream(t, url)
	for _, ev := range got {
		if b, ok := byID[sse.ID(t, ev)]; !ok || b.data != ev.Data {
			t.Fatalf("event %s the cut-off node served is not the broker's: %s, broker %q", ev.ID, ev.Data, b.data)
		}
	}
}

// A consumer cut off from the broker: /healthz says 503 with a JSON
// reason after -broker-stale and 200 again once the broker is back, its
// open stream stays open and then goes on with no gap; a resume a
// moment ahead of it (from a node that kept the broker) waits and is
// served once the consumer has caught up; a resume far ahead is reset
// future.
func TestClusterConsumerCutOff(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	proxy := startProxy(t, strings.TrimPrefix(url, "nats://"))
	pub := startServer(t, nil, "-broker", url, "-broker-publish", "-rate", "50", "-symbols", "10")
	// -broker-ahead longer than its default: the consumer must reconnect
	// and catch up within it, on a machine loaded by the race detector.
	c := startServer(t, nil, "-broker", proxy.url(), "-broker-stale", "1s", "-broker-ahead", "20s", "-heartbeat", "200ms")
	if resp, body := sse.Get(t, c.url+"/healthz"); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("/healthz: %s %s", resp.Status, body)
	}
	cl := sse.Open(t, nil, c.url+"/events")
	last := sse.ID(t, cl.Next(t))
	last = sse.ID(t, readRun(t, cl, last, 10)[9])

	proxy.setCut(true)
	waitMetric(t, c.url, "tickertape_broker_connected", func(v float64) bool { return v == 0 })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, body := sse.Get(t, c.url+"/healthz")
		if resp.StatusCode == 503 {
			var h struct{ Error, Reason, Since string }
			if err := json.Unmarshal([]byte(body), &h); err != nil || h.Reason != "broker" || !strings.Contains(h.Error, "cut off") {
				t.Fatalf("/healthz 503 body %s (%v)", body, err)
			}
			if _, err := time.Parse(time.RFC3339, h.Since); err != nil {
				t.Errorf("/healthz since %q: %v", h.Since, err)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("/healthz 503 Content-Type %q", ct)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/healthz stays 200 while the node is cut off")
		}
		time.Sleep(50 * time.Millisecond) // polling an outside view
	}
	if resp, _ := sse.Get(t, c.url+"/api/snapshot"); resp.StatusCode != 200 {
		t.Errorf("/api/snapshot while cut off: %s", resp.Status)
	}

	// A client that left the publisher's node resumes on the consumer with
	// an id the consumer does not have yet: it waits.
	_, ahead := snapshotOf(t, pub.url)
	_, cAt := snapshotOf(t, c.url)
	if ahead <= cAt {
		t.Fatalf("the consumer is not behind: %d, the publisher %d", cAt, ahead)
	}
	resumed := make(chan *sse.Client, 1)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.url+"/events", nil)
		req.Header.Set("Last-Event-ID", strconv.FormatUint(ahead, 10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			resumed <- nil
			return
		}
		resumed <- &sse.Client{Response: resp, Reader: feed.NewReader(resp.Body)}
	}()
	waitMetric(t, c.url, "tickertape_broker_resumes_waiting", func(v float64) bool { return v == 1 })
	far := sse.Open(t, nil, c.url+"/events", "Last-Event-ID", strconv.FormatUint(ahead+1_000_000, 10))
	if ev := far.Next(t); ev.Name != "reset" || !strings.Contains(ev.Data, "future") {
		t.Fatalf("a resume far ahead: %s %s, want reset future", ev.Name, ev.Data)
	}
	far.Stop()

	heartbeats := cl.Reader.Comments
	proxy.setCut(false)
	rc := <-resumed
	if rc == nil {
		t.FailNow()
	}
	defer rc.Response.Body.Close()
	readRun(t, rc, ahead, 10)
	readRun(t, cl, last, int(ahead-last)+10)
	if cl.Reader.Comments == heartbeats {
		t.Error("no heartbeat on the open stream while the node was cut off")
	}
	waitMetric(t, c.url, "tickertape_broker_connected", func(v float64) bool { return v == 1 })
	if resp, body := sse.Get(t, c.url+"/healthz"); resp.StatusCode != 200 || body != "ok" {
		t.Errorf("/healthz once the broker is back: %s %s", resp.Status, body)
	}
	if v := metric(t, c.url, "tickertape_broker_gaps_total"); v != 0 {
		t.Errorf("gaps counted %v across a cut the broker kept every event of", v)
	}
}

// A consumer cut off for longer than the broker keeps events
// (-broker-history): its ids jump, and its clients are told so with a
// reset lapped and a snapshot; the jump is counted.
func TestClusterBrokerDroppedEvents(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	proxy := startProxy(t, strings.TrimPrefix(url, "nats://"))
	pub := startServer(t, nil, "-broker", url, "-broker-publish", "-rate", "100", "-symbols", "10", "-broker-history", "100")
	c := startServer(t, nil, "-broker", proxy.url())
	cl := sse.Open(t, nil, c.url+"/events")
	last := sse.ID(t, cl.Next(t))
	readRun(t, cl, last, 10)
	_, at := snapshotOf(t, c.url)
	proxy.setCut(true)
	waitMetric(t, c.url, "tickertape_broker_connected", func(v float64) bool { return v == 0 })
	waitForID(t, pub.url, at+300)
	proxy.setCut(false)
	for {
		ev := cl.Next(t)
		if ev.Name == "reset" {
			if !strings.Contains(ev.Data, "lapped") {
				t.Fatalf("after events the broker dropped: reset %s, want lapped", ev.Data)
			}
			if snap := cl.Next(t); snap.Name != "snapshot" {
				t.Fatalf("reset followed by %s", snap.Name)
			}
			break
		}
	}
	if v := metric(t, c.url, "tickertape_broker_gaps_total"); v != 1 {
		t.Errorf("gaps counted %v, want 1", v)
	}
}

// A file played by the leader: the standby that takes over goes on with
// the file's next event, so the broker holds the very events one player
// that never stopped would have made, but for their wall-clock ts.
func TestClusterFileTakeover(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	const file = "testdata/sample.csv"
	// At -speed 10 the file lasts two minutes: the leader is stopped well
	// before its end, however long a loaded machine takes to start nodes.
	args := []string{"-broker", url, "-broker-publish", "-source", "file:" + file, "-speed", "10"}
	a := startServer(t, nil, args...)
	b := startServer(t, nil, args...)
	logOnFailure(t, a, b)
	lead, other := a, b
	if waitLeader(t, a.url, b.url) == b.url {
		lead, other = b, a
	}
	waitMetric(t, lead.url, "tickertape_broker_published_total", func(v float64) bool { return v > 100 })
	if err := lead.stop(t); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, other.url, "tickertape_broker_leader", func(v float64) bool { return v == 1 })
	waitMetric(t, other.url, "tickertape_broker_published_total", func(v float64) bool { return v > 100 })

	src, err := market.Open(market.Config{Source: "file:" + file})
	if err != nil {
		t.Fatal(err)
	}
	var played []string
	if err := src.Run(t.Context(), sinkFunc(func(_, _ string, data any) error {
		b, err := json.Marshal(data)
		played = append(played, withoutTS(t, string(b)))
		return err
	})); err != nil {
		t.Fatal(err)
	}
	checkStream(t, url)
	evs := streamEvents(t, url)
	terms := 1
	for i, e := range evs {
		if i > 0 && e.term != evs[i-1].term {
			terms++
		}
		if i > 0 && e.pos != evs[i-1].pos+1 {
			t.Fatalf("event %d is the file's event %d, after its %d", e.id, e.pos, evs[i-1].pos)
		}
		if e.pos >= uint64(len(played)) || withoutTS(t, e.data) != played[e.pos] {
			t.Fatalf("event %d (term %s) is the file's event %d:\n%s\nthe file's is\n%s", e.id, e.term, e.pos, e.data, played[min(e.pos, uint64(len(played)-1))])
		}
	}
	if terms < 2 {
		t.Errorf("%d terms on the stream, want the leader's and the standby's", terms)
	}
}

// withoutTS drops the ts of an event's data, the one field a wall clock
// stamps.
func withoutTS(t *testing.T, data string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "ts")
	b, _ := json.Marshal(m)
	return string(b)
}

type sinkFunc func(name, symbol string, data any) error

func (f sinkFunc) Publish(name, symbol string, data any) error { return f(name, symbol, data) }
