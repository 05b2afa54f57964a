package cluster

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"tickertape/feed"
	"tickertape/internal/sse"
	"tickertape/market"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// script is a market for the tests: it publishes what the test hands
// it, in order, and counts how often it was resumed rather than started.
type script struct {
	symbols []market.Symbol
	events  chan scripted
	resumed chan *market.State // each Resume's state
}

type scripted struct {
	name, symbol string
	data         any
	done         chan error
}

func newScript(symbols ...string) *script {
	s := &script{events: make(chan scripted), resumed: make(chan *market.State, 16)}
	for _, sym := range symbols {
		s.symbols = append(s.symbols, market.Symbol{Symbol: sym})
	}
	return s
}

func (s *script) Symbols() []market.Symbol { return s.symbols }

func (s *script) Run(ctx context.Context, sink market.Sink) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-s.events:
			err := sink.Publish(e.name, e.symbol, e.data)
			e.done <- err
			if err != nil {
				return err
			}
		}
	}
}

func (s *script) Resume(ctx context.Context, sink market.Sink, st *market.State) error {
	s.resumed <- st
	return s.Run(ctx, sink)
}

// publish has the script's market publish one event, once it runs.
func (s *script) publish(name, symbol string, data any) error {
	done := make(chan error, 1)
	select {
	case s.events <- scripted{name, symbol, data, done}:
	case <-time.After(10 * time.Second):
		return errors.New("the script's market is not running")
	}
	return <-done
}

// runLog runs f (a Candidate's or a Consumer's Run) on a new log of
// names, and waits until the log is ready. stop ends f and checks that
// it ended well; it is called at the end of the test if not before.
func runLog(t *testing.T, names []string, size int, f func(context.Context, Log) error) (l *feed.Log, stop func()) {
	t.Helper()
	l, _ = feed.NewLog(names, size, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx, l) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run after cancel: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-l.Ready():
	case err := <-done:
		done <- err
		t.Fatalf("Run ended before its log was ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the log never became ready")
	}
	return l, stop
}

// value reads the one series of a gauge or a counter.
func value(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || len(mfs[0].GetMetric()) != 1 {
		t.Fatalf("gathering %v: %v", c, err)
	}
	m := mfs[0].GetMetric()[0]
	if g := m.GetGauge(); g != nil {
		return g.GetValue()
	}
	return m.GetCounter().GetValue()
}

// The leading candidate's log and a consumer's log, both fed by the
// broker, end up with the same snapshot and the same ids, symbols that
// are no subject tokens (BRK.B) included.
func TestPublishThenConsume(t *testing.T) {
	url := sse.StartNATS(t, t.TempDir(), 0).ClientURL()
	names := []string{"BRK.B", "AAPL"}
	mk := newScript(names...)

	pc, err := Connect(url, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pc.Close)
	cand, err := pc.Candidate(t.Context(), mk, CandidateOptions{Name: "a", History: 100, Replay: 100, Lease: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cand.Close)
	go func() {
		for _, e := range []scripted{
			{name: market.EventStatus, data: &market.Status{State: "open"}},
			{name: market.EventQuote, symbol: "BRK.B", data: &market.Quote{Symbol: "BRK.B", Price: 400}},
			{name: market.EventQuote, symbol: "AAPL", data: &market.Quote{Symbol: "AAPL", Price: 200}},
			{name: market.EventStatus, symbol: "BRK.B", data: &market.Status{Symbol: "BRK.B", State: "halted"}},
			{name: market.EventMarket, data: &market.Market{Index: 1000}},
		} {
			if err := mk.publish(e.name, e.symbol, e.data); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	src, _ := runLog(t, names, 100, cand.Run)
	if v := value(t, pc.leader); v != 1 {
		t.Errorf("tickertape_broker_leader %v on the only candidate, want 1", v)
	}
	if len(mk.resumed) != 0 {
		t.Fatalf("a market on an empty broker was resumed from %+v, want started", <-mk.resumed)
	}

	cc, err := Connect(url, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Close)
	cons, err := cc.Consumer(t.Context(), 2) // a buffer of 2: the rest comes from the state
	if err != nil {
		t.Fatal(err)
	}
	if got := cons.Symbols(); len(got) != 2 || got[0].Symbol != "BRK.B" {
		t.Fatalf("universe %+v", got)
	}
	dst, _ := runLog(t, names, 2, cons.Run)
	a, ida := src.Snapshot(nil)
	b, idb := dst.Snapshot(nil)
	if string(a) != string(b) || ida != idb || ida == 0 {
		t.Fatalf("snapshots differ:\nleader   %d %s\nconsumer %d %s", ida, a, idb, b)
	}
	if v := value(t, cc.leader); v != 0 {
		t.Errorf("tickertape_broker_leader %v on a consumer, want 0", v)
	}

	// Live: the next event arrives with the leader's id on both.
	if err := mk.publish(market.EventQuote, "AAPL", &market.Quote{Symbol: "AAPL", Price: 201}); err != nil {
		t.Fatal(err)
	}
	for _, l := range []*feed.Log{src, dst} {
		s := l.Subscribe(feed.Filter{}, "", feed.SSE)
		for l.Newest() != ida+1 {
			_, wake, _ := s.Next(nil)
			<-wake
		}
	}

	// The state stream tells which events stream sequence it holds: the
	// market event was the fifth event published.
	state, err := cc.js.Stream(t.Context(), StateStream)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := state.GetLastMsgForSubject(t.Context(), EventsPrefix+"market")
		if err == nil {
			if got := sourceSeq(m.Header); got != 5 {
				t.Fatalf("sourced sequence %d from %q, want 5", got, m.Header.Get("Nats-Stream-Source"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the state stream never took the market event: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // the server sources it in the background
	}
}

func TestConsumerWaitsForAPublisher(t *testing.T) {
	url := sse.StartNATS(t, t.TempDir(), 0).ClientURL()
	c, err := Connect(url, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Consumer(ctx, 10); err == nil || !strings.Contains(err.Error(), "no publisher") {
		t.Fatalf("no publisher: %v", err)
	}
}

// A node shuts down while the broker is away: Run ends, and nothing is
// left running (goleak).
func TestRunEndsWhileBrokerIsDown(t *testing.T) {
	ns := sse.StartNATS(t, t.TempDir(), 0)
	pc, err := Connect(ns.ClientURL(), quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pc.Close)
	mk := newScript("A")
	cand, err := pc.Candidate(t.Context(), mk, CandidateOptions{Name: "a", History: 10, Replay: 10, Lease: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if err := mk.publish(market.EventMarket, "", &market.Market{Index: 1}); err != nil {
			t.Error(err)
		}
	}()
	runLog(t, []string{"A"}, 10, cand.Run)
	cc, err := Connect(ns.ClientURL(), quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Close)
	cons, err := cc.Consumer(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	dst, _ := feed.NewLog([]string{"A"}, 10, 0)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx, dst) }()
	<-dst.Ready()
	sse.StopNATS(t, ns)
	for cc.nc.IsConnected() {
		time.Sleep(10 * time.Millisecond) // polling the client's view of the cut
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not end while the broker was down")
	}
}

// waitFor polls cond, the outside view of something the test cannot be
// told of, until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A standby takes the market over when the leader gives the lease up:
// it resumes the market from the state the leader's last event left, with
// the next id, and no node sees a gap.
func TestStandbyTakesOver(t *testing.T) {
	url := sse.StartNATS(t, t.TempDir(), 0).ClientURL()
	names := []string{"A", "B"}
	opts := func(name string) CandidateOptions {
		return CandidateOptions{Name: name, History: 100, Replay: 100, Lease: time.Second}
	}
	ca, err := Connect(url, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ca.Close)
	mkA := newScript(names...)
	a, err := ca.Candidate(t.Context(), mkA, opts("a"))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := Connect(url, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cb.Close)
	mkB := newScript(names...)
	b, err := cb.Candidate(t.Context(), mkB, opts("b"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cb.Candidate(t.Context(), newScript("A", "C"), opts("c")); err == nil || !strings.Contains(err.Error(), "other symbols") {
		t.Fatalf("a standby with other symbols: %v, want an error", err)
	}
	go func() {
		for _, e := range []scripted{
			{name: market.EventQuote, symbol: "A", data: &market.Quote{Symbol: "A", Price: 10, Volume: 100}},
			{name: market.EventQuote, symbol: "B", data: &market.Quote{Symbol: "B", Price: 20, Volume: 200}},
			{name: market.EventMarket, data: &market.Market{Index: 1000, Change: 10}},
		} {
			if err := mkA.publish(e.name, e.symbol, e.data); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	la, stopA := runLog(t, names, 100, a.Run)
	lb, _ := runLog(t, names, 100, b.Run)
	waitFor(t, "b's log has a's events", func() bool { return lb.Newest() == la.Newest() })
	if ga, gb := value(t, ca.leader), value(t, cb.leader); ga != 1 || gb != 0 {
		t.Fatalf("tickertape_broker_leader %v on a, %v on b; want 1 and 0", ga, gb)
	}
	last := la.Newest()

	stopA() // a stops, giving the lease up
	var st *market.State
	select {
	case st = <-mkB.resumed:
	case <-time.After(10 * time.Second):
		t.Fatal("b did not take over")
	}
	if st.Published != 3 || len(st.Quotes) != 2 || st.Quotes[1].Volume != 200 || st.Market == nil || st.Market.Index != 1000 {
		t.Fatalf("b resumed from %+v; want a's 3 events: 2 quotes and the market", st)
	}
	if value(t, cb.leader) != 1 {
		t.Error("b leads, but its tickertape_broker_leader is not 1")
	}
	if err := mkB.publish(market.EventQuote, "A", &market.Quote{Symbol: "A", Price: 11}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b's first event in its log", func() bool { return lb.Newest() == last+1 })
	if v := value(t, cb.gaps); v != 0 {
		t.Errorf("b counted %v id gaps across the takeover", v)
	}
}

// A leader whose lease was taken from it, unawares (here: deleted on the
// broker), publishes once more after the new leader did: the broker
// refuses it, the broker does not confirm its lease, and it steps down at
// once; it does not take the market back. On the stream, its events all
// come before the new leader's.
func TestDeposedLeaderStepsDown(t *testing.T) {
	url := sse.StartNATS(t, t.TempDir(), 0).ClientURL()
	names := []string{"A"}
	opts := func(name string) CandidateOptions {
		// A long lease: the deposed leader does not learn of it from a
		// renewal before the test has it publish.
		return CandidateOptions{Name: name, History: 100, Replay: 100, Lease: 30 * time.Second}
	}
	var logA syncLog
	ca, err := Connect(url, slog.New(slog.NewTextHandler(&logA, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ca.Close)
	mkA := newScript(names...)
	a, err := ca.Candidate(t.Context(), mkA, opts("a"))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if err := mkA.publish(market.EventMarket, "", &market.Market{Index: 1}); err != nil {
			t.Error(err)
		}
	}()
	la, _ := runLog(t, names, 100, a.Run)
	cb, err := Connect(url, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cb.Close)
	mkB := newScript(names...)
	b, err := cb.Candidate(t.Context(), mkB, opts("b"))
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := runLog(t, names, 100, b.Run)

	if err := b.kv.Delete(t.Context(), LeaseKey); err != nil { // a's lease, gone
		t.Fatal(err)
	}
	select {
	case <-mkB.resumed:
	case <-time.After(10 * time.Second):
		t.Fatal("b did not take over")
	}
	before := lb.Newest()
	if err := mkB.publish(market.EventMarket, "", &market.Market{Index: 2}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b's event in both logs", func() bool { return la.Newest() == before+1 && lb.Newest() == before+1 })
	// a still thinks it leads: it publishes, and is refused.
	for value(t, ca.leader) == 1 {
		mkA.publish(market.EventMarket, "", &market.Market{Index: 99}) // refused, or its market has stopped
		time.Sleep(10 * time.Millisecond)                              // the refusal comes back asynchronously
	}
	if !strings.Contains(logA.String(), "did not confirm") {
		t.Errorf("a did not step down on the refusal; its log:\n%s", logA.String())
	}
	if value(t, cb.leader) != 1 {
		t.Error("b does not lead")
	}
	if len(mkA.resumed) != 0 {
		t.Error("a took the market back")
	}
	events, err := cb.js.Stream(t.Context(), EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := events.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var terms []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := events.GetMsg(t.Context(), seq)
		if err != nil {
			t.Fatalf("message %d of the stream's %+v: %v", seq, info.State, err)
		}
		if term := m.Header.Get(HeaderTerm); len(terms) == 0 || terms[len(terms)-1] != term {
			terms = append(terms, term)
		}
	}
	if len(terms) != 2 {
		t.Errorf("terms on the stream in order: %v, want a's then b's", terms)
	}
}

// syncLog is a log output a test reads while nodes write to it.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Two leaders for one tail (one of them lost its lease without knowing
// it): the first to publish wins, the other is refused (errFenced), and
// the stream holds one event per id, all of the winner.
func TestFencing(t *testing.T) {
	url := sse.StartNATS(t, t.TempDir(), 0).ClientURL()
	symbols := []market.Symbol{{Symbol: "A"}}
	conns := make([]*Conn, 2)
	for i := range conns {
		c, err := Connect(url, quiet())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		conns[i] = c
	}
	events, _, err := conns[0].streams(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	from, err := conns[0].readTail(t.Context(), events)
	if err != nil {
		t.Fatal(err)
	}
	winner := conns[0].newLeaderSink(t.Context(), events, symbols, "1", from, 1000)
	loser := conns[1].newLeaderSink(t.Context(), events, symbols, "2", from, 1000)
	for i := range 3 {
		if err := winner.Publish(market.EventQuote, "A", &market.Quote{Symbol: "A", Price: float64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if lost := winner.drain(5 * time.Second); lost != 0 {
		t.Fatalf("%d of the winner's events not stored", lost)
	}
	var fenced error
	for i := 0; i < 100 && fenced == nil; i++ {
		fenced = loser.Publish(market.EventQuote, "A", &market.Quote{Symbol: "A", Price: 99})
		time.Sleep(10 * time.Millisecond) // its refusal comes back asynchronously
	}
	if !errors.Is(fenced, errFenced) {
		t.Fatalf("the second leader's publish: %v, want errFenced", fenced)
	}
	if err := winner.Publish(market.EventQuote, "A", &market.Quote{Symbol: "A", Price: 4}); err != nil {
		t.Fatalf("the winner after the loser's attempts: %v", err)
	}
	if lost := winner.drain(5 * time.Second); lost != 0 {
		t.Fatalf("%d of the winner's events not stored", lost)
	}
	info, err := events.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 4 {
		t.Fatalf("the stream holds %d events, want the winner's 4", info.State.Msgs)
	}
	for seq := uint64(1); seq <= 4; seq++ {
		m, err := events.GetMsg(t.Context(), seq)
		if err != nil {
			t.Fatal(err)
		}
		if id, term := m.Header.Get(HeaderID), m.Header.Get(HeaderTerm); id != strconv.FormatUint(999+seq, 10) || term != "1" {
			t.Errorf("message %d: id %s of term %s, want %d of term 1", seq, id, term, 999+seq)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                        "nats://127.0.0.1:4222",
		"nats://alice:s3cret@h:4222,nats://tok@g:4222": "nats://redacted@h:4222,nats://redacted@g:4222",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := Connect("nats://alice:s3cret@127.0.0.1:1", quiet()); err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("an unreachable broker with a password: %v", err)
	}
}
