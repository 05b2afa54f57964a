package main

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"tickertape/feed"
)

// startNATS runs a NATS server with JetStream in the test process, its
// store in dir, on 127.0.0.1:port (0: a free port). It is shut down at the
// end of the test, or earlier by stopNATS.
func startNATS(t *testing.T, dir string, port int) *natsserver.Server {
	t.Helper()
	if port == 0 {
		port = natsserver.RANDOM_PORT
	}
	ns, err := natsserver.NewServer(&natsserver.Options{
		Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir,
		NoLog: true, NoSigs: true, ServerName: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(func() { stopNATS(t, ns) })
	return ns
}

// stopNATS waits until every stream on ns has set up its sources, then
// shuts ns down and waits until it has stopped. A stream (the state stream
// sources the events stream) sets up a source on a timer, a moment after
// it starts, by asking for a consumer; the answer is awaited by a goroutine
// that Shutdown does not end and WaitForShutdown does not wait for. A
// server shut down before the answer leaves that goroutine
// ((*stream).trySetupSourceConsumer.func3) waiting out a 30 s timeout, for
// goleak to find. A source the stream has heard from has had its answer.
func stopNATS(t *testing.T, ns *natsserver.Server) {
	t.Helper()
	if ns.Running() {
		waitSourcesSetUp(t, ns)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
}

// waitSourcesSetUp waits until every source of every stream on ns has
// been heard from since the stream started.
func waitSourcesSetUp(t *testing.T, ns *natsserver.Server) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := ns.Jsz(&natsserver.JSzOptions{Streams: true})
		if err != nil {
			t.Errorf("nats-server: %v", err)
			return
		}
		pending := ""
		for _, acc := range info.AccountDetails {
			for _, st := range acc.Streams {
				for _, src := range st.Sources {
					if src.Active < 0 { // -1: not heard from yet
						pending = st.Name + " from " + src.Name
					}
				}
			}
		}
		if pending == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("nats-server: stream %s never set up its source", pending)
			return
		}
		time.Sleep(5 * time.Millisecond) // polling the server's view: it has no event for this
	}
}

func natsPort(ns *natsserver.Server) int { return ns.Addr().(*net.TCPAddr).Port }

// eventID reads an event's id as a number (0 for a reset, which has none).
func eventID(t *testing.T, ev feed.Event) uint64 {
	t.Helper()
	if ev.Name == "reset" {
		return 0
	}
	id, err := strconv.ParseUint(ev.ID, 10, 64)
	if err != nil {
		t.Fatalf("%s event with id %q", ev.Name, ev.ID)
	}
	return id
}

// readRun reads n events that must follow after on a resumed stream: no
// reset, no snapshot, each id one more than the last.
func readRun(t *testing.T, c *sseClient, after uint64, n int) []feed.Event {
	t.Helper()
	evs := make([]feed.Event, 0, n)
	for want := after + 1; len(evs) < n; want++ {
		ev := c.next(t)
		if got := eventID(t, ev); ev.Name == "reset" || ev.Name == "snapshot" || got != want {
			t.Fatalf("after id %d: %s id %q, want the event with id %d (a gap, a duplicate or a reset)", want-1, ev.Name, ev.ID, want)
		}
		evs = append(evs, ev)
	}
	return evs
}

// snapshotOf returns a node's /api/snapshot and the id it is at.
func snapshotOf(t *testing.T, base string) (snap struct {
	Quotes, Scores []json.RawMessage
	Market         json.RawMessage
}, id uint64) {
	t.Helper()
	resp, body := get(t, base+"/api/snapshot")
	if err := json.Unmarshal([]byte(body), &snap); err != nil {
		t.Fatalf("%s/api/snapshot: %v: %s", base, err, body)
	}
	id, _ = strconv.ParseUint(resp.Header.Get("X-Last-Event-ID"), 10, 64)
	return snap, id
}

// waitForID polls a node until it has the event with this id.
func waitForID(t *testing.T, base string, id uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, at := snapshotOf(t, base); at >= id {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never got event %d", base, id)
		}
		time.Sleep(20 * time.Millisecond) // polling an outside view, not synchronising
	}
}

// One publisher and two consumer nodes on one broker: every node streams
// the same events with the same ids; a node that starts late has a
// complete snapshot and a resume buffer from the broker; a client whose
// node stops resumes on another with its last id, with no gap and no
// duplicate.
func TestClusterSameIDsEverywhereAndFailover(t *testing.T) {
	t.Parallel()
	ns := startNATS(t, t.TempDir(), 0)
	url := ns.ClientURL()
	pub := startServer(t, nil, "-broker", url, "-broker-publish", "-rate", "20", "-symbols", "20")
	a := startServer(t, map[string]string{"TICKERTAPE_BROKER": url}) // the environment works too

	// A late node, with a resume buffer too small to hold every symbol's
	// last quote (20 events of 20 symbols): its snapshot state comes from
	// the broker's state stream. The market is slow (about 25 events/s with
	// scores and summaries), so that the buffer spans most of a second: a
	// resume into it, and a client that compares its stream, must not be
	// overtaken when the race detector stalls the node.
	waitMetric(t, pub.url, "tickertape_broker_published_total", func(v float64) bool { return v > 100 })
	b := startServer(t, nil, "-broker", url, "-replay", "20")
	snapPub, _ := snapshotOf(t, pub.url)
	snapB, idB := snapshotOf(t, b.url)
	if len(snapB.Quotes) != 20 || len(snapB.Scores) != 20 || len(snapB.Market) < 10 || len(snapPub.Quotes) != 20 {
		t.Fatalf("late node's snapshot: %d quotes, %d scores, market %s; want 20, 20 and a market", len(snapB.Quotes), len(snapB.Scores), snapB.Market)
	}
	// Its resume buffer holds the publisher's last 20 ids; older is too old.
	cb := openEvents(t, nil, b.url+"/events", "Last-Event-ID", strconv.FormatUint(idB-19, 10))
	readRun(t, cb, idB-19, 19)
	cb.stop()
	cb = openEvents(t, nil, b.url+"/events", "Last-Event-ID", strconv.FormatUint(idB-400, 10))
	if ev := cb.next(t); ev.Name != "reset" || !strings.Contains(ev.Data, "too_old") {
		t.Fatalf("resume from beyond the late node's buffer: %s %s, want reset too_old", ev.Name, ev.Data)
	}
	cb.stop()

	for _, n := range []*server{a, b} {
		if _, got := get(t, n.url+"/api/symbols"); got != mustGet(t, pub.url+"/api/symbols") {
			t.Fatalf("%s/api/symbols differs from the publisher's: %s", n.url, got)
		}
	}

	// Every node streams the same events with the same ids.
	_, from := snapshotOf(t, pub.url)
	waitForID(t, a.url, from)
	waitForID(t, b.url, from)
	last := strconv.FormatUint(from, 10)
	cp := openEvents(t, nil, pub.url+"/events", "Last-Event-ID", last)
	ca := openEvents(t, nil, a.url+"/events", "Last-Event-ID", last)
	cb = openEvents(t, nil, b.url+"/events", "Last-Event-ID", last)
	want := readRun(t, cp, from, 100)
	for _, c := range []*sseClient{ca, cb} {
		for i, ev := range readRun(t, c, from, 100) {
			if ev != want[i] {
				t.Fatalf("event %d differs from the publisher's:\n%+v\n%+v", i, ev, want[i])
			}
		}
	}

	// Node a stops; its client ends cleanly and resumes on b.
	at := from + 100
	if err := a.stop(t); err != nil {
		t.Fatalf("node a: %v", err)
	}
	for {
		ev, err := ca.r.Next()
		if err != nil {
			break // the stream ended: EventSource would reconnect now
		}
		if got := eventID(t, ev); got != at+1 {
			t.Fatalf("after id %d: %s %q", at, ev.Name, ev.ID)
		}
		at++
	}
	cb2 := openEvents(t, nil, b.url+"/events", "Last-Event-ID", strconv.FormatUint(at, 10))
	readRun(t, cb2, at, 50)
	if v := metric(t, b.url, `tickertape_replay_total{result="hit"}`); v < 3 {
		t.Errorf("replay hits on b: %v", v)
	}
	if v := metric(t, b.url, "tickertape_broker_gaps_total"); v != 0 {
		t.Errorf("b saw %v id gaps on a healthy broker", v)
	}
}

func mustGet(t *testing.T, url string) string {
	t.Helper()
	_, body := get(t, url)
	return body
}

// The broker stops and comes back on the same port and store: a consumer
// node keeps serving its last state meanwhile, says so on /metrics, and
// its client sees no id gap and no reset afterwards: the publisher sends
// again what the broker did not acknowledge, the consumer resumes at the
// next stream sequence. The publisher's lease outlasts the outage (a
// restart of the embedded broker under -race takes seconds), so it keeps
// leading and loses nothing; an outage longer than the lease hands the
// market over instead (TestClusterLeaderCutOff).
func TestClusterBrokerOutage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ns := startNATS(t, dir, 0)
	port := natsPort(ns)
	url := ns.ClientURL()
	// Fast enough that events are in flight when the broker goes.
	pub := startServer(t, nil, "-broker", url, "-broker-publish", "-broker-lease", "20s", "-rate", "1000", "-symbols", "10")
	a := startServer(t, nil, "-broker", url)
	c := openEvents(t, nil, a.url+"/events")
	var last uint64
	for range 20 {
		last = eventID(t, c.next(t))
	}

	stopNATS(t, ns)
	waitMetric(t, a.url, "tickertape_broker_connected", func(v float64) bool { return v == 0 })
	if resp, _ := get(t, a.url+"/api/snapshot"); resp.StatusCode != 200 {
		t.Fatalf("snapshot during the outage: %s", resp.Status)
	}
	startNATS(t, dir, port)
	waitMetric(t, a.url, "tickertape_broker_connected", func(v float64) bool { return v == 1 })
	_, pubAt := snapshotOf(t, pub.url)

	resets := 0
	for last < pubAt+50 {
		ev := c.next(t)
		switch id := eventID(t, ev); {
		case ev.Name == "reset":
			resets++
			if ev := c.next(t); ev.Name != "snapshot" {
				t.Fatalf("reset followed by %s", ev.Name)
			} else {
				last = eventID(t, ev)
			}
		case id != last+1:
			t.Fatalf("after id %d: %s %d: a silent gap across the outage", last, ev.Name, id)
		default:
			last = id
		}
	}
	if v := metric(t, a.url, "tickertape_broker_disconnects_total"); v < 1 {
		t.Errorf("disconnects counted: %v", v)
	}
	// The publisher kept what the broker had not acknowledged and sent it
	// again; the consumer resumed at the next stream sequence: no gap.
	if gaps := metric(t, a.url, "tickertape_broker_gaps_total"); resets != 0 || gaps != 0 {
		t.Errorf("%d resets on the stream, %v gaps counted; want none", resets, gaps)
	}
	if v := metric(t, pub.url, "tickertape_broker_publish_errors_total"); v != 0 {
		t.Errorf("the publisher dropped %v events", v)
	}
}

// Errors name what to change.
func TestClusterErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "nats://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-broker", dead}, dead},
		{[]string{"-broker", dead, "-broker-publish"}, dead},
		{[]string{"-broker-publish"}, "-broker-publish needs -broker"},
		{[]string{"-broker", dead, "-symbols", "AAPL"}, "-symbols"},
		{[]string{"-broker", dead, "-broker-publish", "-broker-history", "0"}, "-broker-history"},
		{[]string{"-broker", dead, "-broker-publish", "-broker-lease", "500ms"}, "-broker-lease"},
		{[]string{"-broker", dead, "-broker-stale", "0s"}, "-broker-stale"},
		{[]string{"-broker", dead, "-broker-ahead", "-1s"}, "-broker-ahead"},
	} {
		var stderr syncBuffer
		err := run(t.Context(), append([]string{"-addr", "127.0.0.1:0"}, tc.args...), func(string) string { return "" }, io_discard{}, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %q", tc.args, err, tc.want)
		}
	}
}

// The publisher restarts: the new run takes the market over from the
// broker's last event, as a standby does (docs/API.md, v1.3), so a
// consumer node's client sees neither a jump nor a reset, and the market
// goes on from its last prices.
func TestClusterPublisherRestart(t *testing.T) {
	t.Parallel()
	ns := startNATS(t, t.TempDir(), 0)
	url := ns.ClientURL()
	args := []string{"-broker", url, "-broker-publish", "-rate", "100", "-symbols", "10"}
	pub := startServer(t, nil, args...)
	a := startServer(t, nil, "-broker", url)
	c := openEvents(t, nil, a.url+"/events")
	last := eventID(t, c.next(t))
	last = eventID(t, readRun(t, c, last, 10)[9])
	if err := pub.stop(t); err != nil {
		t.Fatal(err)
	}
	_, stopped := snapshotOf(t, a.url)
	pub = startServer(t, nil, args...)
	// Every event the first run published, then the second run's: one
	// sequence, no reset.
	evs := readRun(t, c, last, int(stopped-last)+20)
	if v := metric(t, a.url, "tickertape_broker_gaps_total"); v != 0 {
		t.Errorf("gaps counted: %v, want 0", v)
	}
	if !strings.Contains(pub.stderr.String(), "taking the market over") {
		t.Errorf("the restarted publisher did not take the market over; its log:\n%s", pub.stderr)
	}
	// The market goes on from its last prices: no quote after the restart
	// is far from the last quote of its symbol before it.
	price := map[string]float64{}
	for _, ev := range evs {
		var q struct {
			Symbol string
			Price  float64
		}
		if ev.Name != "quote" {
			continue
		}
		if err := json.Unmarshal([]byte(ev.Data), &q); err != nil {
			t.Fatal(err)
		}
		if p, ok := price[q.Symbol]; ok && eventID(t, ev) > stopped && (q.Price > p*1.05 || q.Price < p*0.95) {
			t.Errorf("%s traded at %v before the restart, at %v after it: a new market, not the same one", q.Symbol, p, q.Price)
		}
		price[q.Symbol] = q.Price
	}
}

// The publisher comes back with other symbols: a consumer cannot serve
// them under its old universe, so it stops with an error that says why
// (a supervisor restarts it, and it takes the new universe up).
func TestClusterUniverseChange(t *testing.T) {
	t.Parallel()
	ns := startNATS(t, t.TempDir(), 0)
	url := ns.ClientURL()
	pub := startServer(t, nil, "-broker", url, "-broker-publish", "-rate", "100", "-symbols", "AAPL,MSFT")
	a := startServer(t, nil, "-broker", url)
	if err := pub.stop(t); err != nil {
		t.Fatal(err)
	}
	startServer(t, nil, "-broker", url, "-broker-publish", "-rate", "100", "-symbols", "MSFT,NVDA")
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(a.url + "/healthz")
		if err != nil {
			break // the node stopped
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("the consumer kept serving the old universe")
		}
		time.Sleep(20 * time.Millisecond) // polling an outside view
	}
	if err := a.stop(t); err == nil || !strings.Contains(err.Error(), "symbols changed") {
		t.Fatalf("consumer ended with %v, want an error saying the symbols changed", err)
	}
	b := startServer(t, nil, "-broker", url)
	if _, body := get(t, b.url+"/api/symbols"); !strings.Contains(body, "NVDA") || strings.Contains(body, "AAPL") {
		t.Fatalf("a new consumer's symbols: %s", body)
	}
}
