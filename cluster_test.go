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
	"tickertape/internal/sse"
)

func natsPort(ns *natsserver.Server) int { return ns.Addr().(*net.TCPAddr).Port }

// readRun reads n events that must follow after on a resumed stream: no
// reset, no snapshot, each id one more than the last.
func readRun(t *testing.T, c *sse.Client, after uint64, n int) []feed.Event {
	t.Helper()
	evs := make([]feed.Event, 0, n)
	for want := after + 1; len(evs) < n; want++ {
		ev := c.Next(t)
		if ev.Name == "reset" || ev.Name == "snapshot" || sse.ID(t, ev) != want {
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
	resp, body := sse.Get(t, base+"/api/snapshot")
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
	ns := sse.StartNATS(t, t.TempDir(), 0)
	url := ns.ClientURL()
	pub := startServer(t, nil, "-broker", url, "-broker-publish", "-rate", "10", "-symbols", "50")
	a := startServer(t, map[string]string{"TICKERTAPE_BROKER": url}) // the environment works too

	// A late node, with a resume buffer too small to hold every symbol's
	// last quote (45 events of 50 symbols): its snapshot state comes from
	// the broker's state stream. The market is slow (about 19 events/s with
	// scores and summaries), so that the buffer spans over 2 s: a resume
	// into it, and a client that compares its stream, must not be overtaken
	// when the race detector and a loaded machine stall the node (a 20-event
	// buffer at 25 events/s was lapped under load).
	waitMetric(t, pub.url, "tickertape_broker_published_total", func(v float64) bool { return v > 100 })
	b := startServer(t, nil, "-broker", url, "-replay", "45")
	snapPub, _ := snapshotOf(t, pub.url)
	snapB, idB := snapshotOf(t, b.url)
	if len(snapB.Quotes) != 50 || len(snapB.Scores) != 50 || len(snapB.Market) < 10 || len(snapPub.Quotes) != 50 {
		t.Fatalf("late node's snapshot: %d quotes, %d scores, market %s; want 50, 50 and a market", len(snapB.Quotes), len(snapB.Scores), snapB.Market)
	}
	// Its resume buffer holds the publisher's last 45 ids; older is too old.
	// The node goes on appending between a snapshot and a resume, so a
	// resume from the buffer's very edge that new events overtook in
	// between is tried again from a fresh snapshot, ten times at most (at
	// -count=5 under -race, with the machine's two cores loaded 8 times
	// over, five tries were once all overtaken).
	for try := 1; ; try++ {
		cb := sse.Open(t, nil, b.url+"/events", "Last-Event-ID", strconv.FormatUint(idB-44, 10))
		ev := cb.Next(t)
		if _, now := snapshotOf(t, b.url); ev.Name == "reset" && now > idB+1 && try < 10 {
			cb.Stop()
			_, idB = snapshotOf(t, b.url)
			continue
		}
		if ev.Name == "reset" || sse.ID(t, ev) != idB-43 {
			t.Fatalf("resume from the edge of the late node's buffer (after %d): %s %s %s", idB-44, ev.Name, ev.ID, ev.Data)
		}
		readRun(t, cb, idB-43, 43)
		cb.Stop()
		break
	}
	cb := sse.Open(t, nil, b.url+"/events", "Last-Event-ID", strconv.FormatUint(idB-400, 10))
	if ev := cb.Next(t); ev.Name != "reset" || !strings.Contains(ev.Data, "too_old") {
		t.Fatalf("resume from beyond the late node's buffer: %s %s, want reset too_old", ev.Name, ev.Data)
	}
	cb.Stop()

	for _, n := range []*server{a, b} {
		if _, got := sse.Get(t, n.url+"/api/symbols"); got != mustGet(t, pub.url+"/api/symbols") {
			t.Fatalf("%s/api/symbols differs from the publisher's: %s", n.url, got)
		}
	}

	// Every node streams the same events with the same ids. A third node,
	// with the default resume buffer, takes the long comparison and the
	// failover, which a 2 s buffer would not ride out on a loaded machine.
	c := startServer(t, nil, "-broker", url)
	_, from := snapshotOf(t, pub.url)
	for _, n := range []*server{a, b, c} {
		waitForID(t, n.url, from)
	}
	last := strconv.FormatUint(from, 10)
	cp := sse.Open(t, nil, pub.url+"/events", "Last-Event-ID", last)
	ca := sse.Open(t, nil, a.url+"/events", "Last-Event-ID", last)
	cb = sse.Open(t, nil, b.url+"/events", "Last-Event-ID", last)
	cc := sse.Open(t, nil, c.url+"/events", "Last-Event-ID", last)
	want := readRun(t, cp, from, 100)
	for _, run := range []struct {
		c *sse.Client
		n int
	}{{cb, 20}, {ca, 100}, {cc, 100}} {
		for i, ev := range readRun(t, run.c, from, run.n) {
			if ev != want[i] {
				t.Fatalf("event %d differs from the publisher's:\n%+v\n%+v", i, ev, want[i])
			}
		}
	}

	// Node a stops; its client ends cleanly and resumes on c.
	at := from + 100
	if err := a.stop(t); err != nil {
		t.Fatalf("node a: %v", err)
	}
	for {
		ev, err := ca.Reader.Next()
		if err != nil {
			break // the stream ended: EventSource would reconnect now
		}
		if got := sse.ID(t, ev); got != at+1 {
			t.Fatalf("after id %d: %s %q", at, ev.Name, ev.ID)
		}
		at++
	}
	cc2 := sse.Open(t, nil, c.url+"/events", "Last-Event-ID", strconv.FormatUint(at, 10))
	readRun(t, cc2, at, 50)
	for _, n := range []*server{b, c} {
		if v := metric(t, n.url, `tickertape_replay_total{result="hit"}`); v < 2 {
			t.Errorf("replay hits on %s: %v", n.url, v)
		}
		if v := metric(t, n.url, "tickertape_broker_gaps_total"); v != 0 {
			t.Errorf("%s saw %v id gaps on a healthy broker", n.url, v)
		}
	}
}

func mustGet(t *testing.T, url string) string {
	t.Helper()
	_, body := sse.Get(t, url)
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
	ns := sse.StartNATS(t, dir, 0)
	port := natsPort(ns)
	url := ns.ClientURL()
	// Fast enough that events are in flight when the broker goes.
	pub := startServer(t, nil, "-broker", url, "-broker-publish", "-broker-lease", "20s", "-rate", "1000", "-symbols", "10")
	a := startServer(t, nil, "-broker", url)
	c := sse.Open(t, nil, a.url+"/events")
	var last uint64
	for range 20 {
		last = sse.ID(t, c.Next(t))
	}

	sse.StopNATS(t, ns)
	waitMetric(t, a.url, "tickertape_broker_connected", func(v float64) bool { return v == 0 })
	if resp, _ := sse.Get(t, a.url+"/api/snapshot"); resp.StatusCode != 200 {
		t.Fatalf("snapshot during the outage: %s", resp.Status)
	}
	sse.StartNATS(t, dir, port)
	waitMetric(t, a.url, "tickertape_broker_connected", func(v float64) bool { return v == 1 })
	_, pubAt := snapshotOf(t, pub.url)

	resets := 0
	for last < pubAt+50 {
		ev := c.Next(t)
		switch {
		case ev.Name == "reset":
			resets++
			if ev := c.Next(t); ev.Name != "snapshot" {
				t.Fatalf("reset followed by %s", ev.Name)
			} else {
				last = sse.ID(t, ev)
			}
		case sse.ID(t, ev) != last+1:
			t.Fatalf("after id %d: %s %s: a silent gap across the outage", last, ev.Name, ev.ID)
		default:
			last++
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
// broker's last event, as a standby does (docs/API.md, v1.4), so a
// consumer node's client sees neither a jump nor a reset, and the market
// goes on from its last prices.
func TestClusterPublisherRestart(t *testing.T) {
	t.Parallel()
	ns := sse.StartNATS(t, t.TempDir(), 0)
	url := ns.ClientURL()
	args := []string{"-broker", url, "-broker-publish", "-rate", "100", "-symbols", "10"}
	pub := startServer(t, nil, args...)
	a := startServer(t, nil, "-broker", url)
	c := sse.Open(t, nil, a.url+"/events")
	last := sse.ID(t, c.Next(t))
	last = sse.ID(t, readRun(t, c, last, 10)[9])
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
		if p, ok := price[q.Symbol]; ok && sse.ID(t, ev) > stopped && (q.Price > p*1.05 || q.Price < p*0.95) {
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
	ns := sse.StartNATS(t, t.TempDir(), 0)
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
	if _, body := sse.Get(t, b.url+"/api/symbols"); !strings.Contains(body, "NVDA") || strings.Contains(body, "AAPL") {
		t.Fatalf("a new consumer's symbols: %s", body)
	}
}
