package history_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tickertape/feed"
	"tickertape/history"
	"tickertape/market"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// get asks h for path and decodes the JSON answer into v.
func get(t *testing.T, srv *httptest.Server, path string, v any) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s: Content-Type %q, want JSON", path, resp.Header.Get("Content-Type"))
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, b)
		}
	}
	return resp, string(b)
}

// badRequest is a query an endpoint must refuse, and what its error names.
type badRequest struct {
	query string
	names []string // each must be named in the error
	field string   // a field of the error body that must name it
}

// badRequests asks path with each query and checks the 400 and its JSON
// error: every name in the message, and the field, when one is given.
func badRequests(t *testing.T, srv *httptest.Server, path string, cases []badRequest) {
	t.Helper()
	for _, c := range cases {
		var e map[string]any
		resp, body := get(t, srv, path+"?"+c.query, &e)
		msg, _ := e["error"].(string)
		if resp.StatusCode != 400 || msg == "" {
			t.Errorf("%s?%s: %s %s, want 400 with a JSON error", path, c.query, resp.Status, body)
			continue
		}
		for _, n := range c.names {
			if !strings.Contains(msg, n) {
				t.Errorf("%s?%s: error %q does not name %s", path, c.query, msg, n)
			}
		}
		if c.field != "" && e[c.field] == nil {
			t.Errorf("%s?%s: no %s in %s", path, c.query, c.field, body)
		}
	}
}

func TestTradesFoldIntoBarsAtEveryInterval(t *testing.T) {
	s := history.New([]string{"AAPL", "MSFT"}, history.Options{})
	base := 1_700_000_040_000.0 // a whole minute, Unix ms
	for _, tr := range []struct {
		ms    float64
		price float64
		size  int64
	}{
		{0, 100, 10}, {400.5, 101, 5}, {999.9, 99.5, 1}, // one second
		{1000, 100.25, 2}, // the next second, same 5s bar
		{5000, 98, 7},     // the next 5s bar
		{61000, 97, 3},    // the next minute
	} {
		if !s.Add("AAPL", base+tr.ms, tr.price, tr.size) {
			t.Fatal("AAPL unknown")
		}
	}
	if s.Add("ZZZ", base, 1, 1) {
		t.Error("a symbol the store does not know was taken")
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	want := map[string][]history.Bar{
		"1s": {{T: 1700000040000, O: 100, H: 101, L: 99.5, C: 99.5, V: 16}, {T: 1700000041000, O: 100.25, H: 100.25, L: 100.25, C: 100.25, V: 2}, {T: 1700000045000, O: 98, H: 98, L: 98, C: 98, V: 7}, {T: 1700000101000, O: 97, H: 97, L: 97, C: 97, V: 3}},
		"5s": {{T: 1700000040000, O: 100, H: 101, L: 99.5, C: 100.25, V: 18}, {T: 1700000045000, O: 98, H: 98, L: 98, C: 98, V: 7}, {T: 1700000100000, O: 97, H: 97, L: 97, C: 97, V: 3}},
		"1m": {{T: 1700000040000, O: 100, H: 101, L: 98, C: 98, V: 25}, {T: 1700000100000, O: 97, H: 97, L: 97, C: 97, V: 3}},
		"5m": {{T: 1699999800000, O: 100, H: 101, L: 98, C: 98, V: 25}, {T: 1700000100000, O: 97, H: 97, L: 97, C: 97, V: 3}},
	}
	for iv, bars := range want {
		var p history.Page
		get(t, srv, "/api/history?symbol=aapl&interval="+iv, &p)
		if p.Symbol != "AAPL" || p.Interval != iv || fmt.Sprint(p.Bars) != fmt.Sprint(bars) {
			t.Errorf("%s: %+v, want bars %v", iv, p, bars)
		}
	}
	var quiet history.Page
	get(t, srv, "/api/history?symbol=MSFT&interval=1m", &quiet)
	if quiet.Bars == nil || len(quiet.Bars) != 0 {
		t.Errorf("a symbol that never traded: %+v, want an empty list of bars", quiet)
	}
}

func TestEachSymbolKeepsTheNewestBars(t *testing.T) {
	s := history.New([]string{"A"}, history.Options{Keep: 3})
	for k := range 10 {
		s.Add("A", float64(k)*300_000, float64(k+1), 1) // one 5m bar each
	}
	for _, c := range []struct {
		limit int
		want  string
	}{{2, "[9 10]"}, {3, "[8 9 10]"}, {50, "[8 9 10]"}} {
		p, err := s.Query("A", "5m", c.limit)
		if err != nil {
			t.Fatal(err)
		}
		var closes []float64
		for _, b := range p.Bars {
			closes = append(closes, b.C)
		}
		if fmt.Sprint(closes) != c.want {
			t.Errorf("limit %d: closes %v, want the newest, oldest first: %s", c.limit, closes, c.want)
		}
	}
	if k := history.New(make([]string, 10000), history.Options{}).Keep(); k*5*10000 > 1_500_000 || k < 30 {
		t.Errorf("10,000 symbols keep %d bars each per interval: unbounded", k)
	}
	if k := history.New(make([]string, 53), history.Options{}).Keep(); k != history.MaxLimit {
		t.Errorf("the default universe keeps %d bars per interval, want %d", k, history.MaxLimit)
	}
}

func TestAClockThatStepsBackNeverMakesAnOlderBar(t *testing.T) {
	s := history.New([]string{"A"}, history.Options{})
	s.Add("A", 10_000, 5, 1)
	s.Add("A", 2_000, 6, 1) // eight seconds in the past
	p, _ := s.Query("A", "1s", 10)
	if len(p.Bars) != 1 || p.Bars[0].T != 10_000 || p.Bars[0].H != 6 || p.Bars[0].V != 2 {
		t.Errorf("bars %+v: the late trade should count in the newest bar", p.Bars)
	}
}

func TestTheSinkFoldsEachQuoteWithTheIDTheLogGaveIt(t *testing.T) {
	names := []string{"AAPL", "MSFT"}
	log, err := feed.NewLog(names, 100, 1000)
	if err != nil {
		t.Fatal(err)
	}
	s := history.New(names, history.Options{})
	sink := s.Sink(log, log.Newest)
	b, ok := sink.(market.Backfiller)
	if !ok {
		t.Fatal("the sink takes no morning")
	}
	b.Backfill(market.EventQuote, "AAPL", &market.Quote{Symbol: "AAPL", Price: 10, Size: 100, TS: 1000})
	b.Backfill(market.EventStatus, "AAPL", &market.Status{Symbol: "AAPL", State: "halted"})
	if p, _ := s.Query("AAPL", "1s", 10); p.ID != 0 || len(p.Bars) != 1 || log.Newest() != 0 {
		t.Fatalf("after the morning: %+v, log newest %d; want one bar, id 0, nothing published", p, log.Newest())
	}
	for k, ev := range []struct {
		name string
		data any
	}{
		{market.EventQuote, &market.Quote{Symbol: "AAPL", Price: 11, Size: 5, TS: 2000}},
		{market.EventScore, &market.Score{Symbol: "AAPL"}},
		{market.EventQuote, &market.Quote{Symbol: "MSFT", Price: 20, Size: 1, TS: 2500}},
	} {
		sym := ""
		switch d := ev.data.(type) {
		case *market.Quote:
			sym = d.Symbol
		case *market.Score:
			sym = d.Symbol
		}
		if err := sink.Publish(ev.name, sym, ev.data); err != nil {
			t.Fatal(err)
		}
		if p, _ := s.Query("AAPL", "1s", 10); p.ID != uint64(1000+k) || p.ID != log.Newest() {
			t.Errorf("after event %d: history id %d, log newest %d", k, p.ID, log.Newest())
		}
	}
	p, _ := s.Query("AAPL", "1m", 10)
	if len(p.Bars) != 1 || p.Bars[0].O != 10 || p.Bars[0].C != 11 || p.Bars[0].V != 105 {
		t.Errorf("AAPL 1m: %+v, want the morning's trade and the live one in one bar", p.Bars)
	}
	// A failed publish folds nothing.
	log.Close()
	if err := sink.Publish(market.EventQuote, "AAPL", &market.Quote{Symbol: "AAPL", Price: 99, Size: 1, TS: 3000}); !errors.Is(err, feed.ErrClosed) {
		t.Fatalf("publish to a closed log: %v", err)
	}
	if p, _ := s.Query("AAPL", "1s", 10); p.Bars[len(p.Bars)-1].C == 99 {
		t.Error("a quote the log refused was folded")
	}
}

// fakeLog stands for a broker-fed node's log.
type fakeLog struct{ appended, restored int }

func (f *fakeLog) Publish(string, string, any) error {
	return errors.New("a consumer's log is not published to")
}
func (f *fakeLog) Append(uint64, string, string, []byte) error {
	f.appended++
	return nil
}
func (f *fakeLog) Restore(string, string, []byte) error {
	f.restored++
	return nil
}
func (f *fakeLog) MarkReady()      {}
func (f *fakeLog) HasMarket() bool { return true }
func (f *fakeLog) Newest() uint64  { return 0 }
func (f *fakeLog) Snapshot([]bool) ([]byte, uint64) {
	return []byte(`{}`), 0
}

func TestABrokerFedNodeFoldsWhatItAppends(t *testing.T) {
	s := history.New([]string{"AAPL"}, history.Options{})
	fl := &fakeLog{}
	sink := s.Sink(fl, func() uint64 { return 0 })
	log, ok := sink.(interface {
		Append(id uint64, name, symbol string, raw []byte) error
		Restore(name, symbol string, raw []byte) error
	})
	if !ok {
		t.Fatal("the sink hides Append and Restore from a consumer")
	}
	if err := log.Restore("quote", "AAPL", []byte(`{"symbol":"AAPL","price":1,"size":1,"ts":1000}`)); err != nil {
		t.Fatal(err)
	}
	if err := log.Append(77, "quote", "AAPL", []byte(`{"symbol":"AAPL","price":5,"size":3,"ts":2000}`)); err != nil {
		t.Fatal(err)
	}
	if err := log.Append(78, "score", "AAPL", []byte(`{"symbol":"AAPL"}`)); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Query("AAPL", "1s", 10)
	if fl.appended != 2 || fl.restored != 1 || p.ID != 78 || len(p.Bars) != 1 || p.Bars[0].C != 5 || p.Bars[0].V != 3 {
		t.Errorf("%+v after a restore and two appends (log saw %d, %d): want one bar from the appended quote, id 78", p, fl.appended, fl.restored)
	}
	if err := log.Append(79, "quote", "AAPL", []byte(`{"price":"x"}`)); err == nil {
		t.Error("a quote that is not a quote was taken")
	}
	// A sink over a plain log does not pretend to append.
	if _, ok := s.Sink(market.Record(io.Discard, nil), func() uint64 { return 0 }).(interface {
		Append(uint64, string, string, []byte) error
	}); ok {
		t.Error("a sink over a recorder claims to append")
	}
}

func TestTheEndpointThroughHTTP(t *testing.T) {
	s := history.New([]string{"AAPL", "BRK.B"}, history.Options{})
	for k := range 6000 {
		s.Add("AAPL", float64(k)*1000, 100+float64(k%7), 1)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, c := range []struct {
		query string
		bars  int
	}{
		{"symbol=AAPL&interval=1s", history.DefaultLimit},
		{"symbol=AAPL&interval=1s&limit=5000", 5000},
		{"symbol=AAPL&interval=1s&limit=1", 1},
		{"symbol=AAPL&interval=1m", 100},
		{"symbol=brk.b&interval=5m", 0},
	} {
		var p history.Page
		resp, body := get(t, srv, "/api/history?"+c.query, &p)
		if resp.StatusCode != 200 || len(p.Bars) != c.bars || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %s, %d bars (want %d): %.200s", c.query, resp.Status, len(p.Bars), c.bars, body)
		}
		for i := 1; i < len(p.Bars); i++ {
			if p.Bars[i].T <= p.Bars[i-1].T {
				t.Fatalf("%s: bars out of order at %d", c.query, i)
			}
		}
		if c.bars > 0 && p.Bars[len(p.Bars)-1].T != lastStart(c.query) {
			t.Errorf("%s: the newest bar starts at %d, want %d", c.query, p.Bars[len(p.Bars)-1].T, lastStart(c.query))
		}
	}
	badRequests(t, srv, "/api/history", []badRequest{
		{"symbol=ZZZ&interval=1m", []string{`"ZZZ"`}, "unknownSymbols"},
		{"symbol=AAPL&interval=2m", []string{`"2m"`, "1s, 5s, 15s, 1m, 5m"}, ""},
		{"symbol=AAPL", []string{"interval is required"}, ""},
		{"interval=1m", []string{"symbol is required"}, ""},
		{"symbol=AAPL&interval=1m&limit=5001", []string{`limit "5001"`, "5000"}, ""},
		{"symbol=AAPL&interval=1m&limit=0", []string{`limit "0"`}, ""},
		{"symbol=AAPL&interval=1m&limit=ten", []string{`limit "ten"`}, ""},
		{"symbol=AAPL&interval=1m&from=0", []string{`"from"`}, "unknownParams"},
		{"symbol=AAPL&symbol=MSFT&interval=1m", []string{"symbol given 2 times"}, ""},
		{"symbol=ZZZ&interval=9h", []string{`"ZZZ"`, `"9h"`}, "unknownSymbols"},
	})
}

// lastStart is the start of the newest bar TestTheEndpointThroughHTTP made.
func lastStart(query string) int64 {
	if strings.Contains(query, "1m") {
		return 5940000
	}
	return 5999000
}

// A market published through the sink: the simulation's morning gives a
// fresh market its day so far, and the day's figures agree with the bars.
func TestAFreshMarketHasTheDaySoFar(t *testing.T) {
	start := time.Date(2024, 3, 1, 16, 0, 0, 0, time.UTC)
	src, err := market.Open(market.Config{Rate: 25, Seed: 3, Now: func() time.Time { return start }})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, sym := range src.Symbols() {
		names = append(names, sym.Symbol)
	}
	log, err := feed.NewLog(names, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := history.New(names, history.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err = src.Run(ctx, s.Sink(sinkFunc(func(name, symbol string, data any) error {
		if n++; n == 500 {
			cancel()
		}
		return log.Publish(name, symbol, data)
	}), log.Newest))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	var snap struct{ Quotes []market.Quote }
	data, _ := log.Snapshot(nil)
	json.Unmarshal(data, &snap)
	for _, q := range snap.Quotes {
		var p history.Page
		get(t, srv, "/api/history?interval=1m&limit=5000&symbol="+q.Symbol, &p)
		if q.Symbol == "AAPL" && len(p.Bars) < 60 {
			t.Errorf("AAPL: %d 1m bars in a fresh market, want the day so far (60 and more)", len(p.Bars))
		}
		hi, lo := math.Inf(-1), math.Inf(1)
		var vol int64
		for _, b := range p.Bars {
			hi, lo, vol = max(hi, b.H), min(lo, b.L), vol+b.V
		}
		if len(p.Bars) == 0 || p.Bars[0].O != q.Open || hi != q.High || lo != q.Low || vol != q.Volume {
			t.Errorf("%s: day open %v high %v low %v volume %d; bars open %v high %v low %v volume %d", q.Symbol, q.Open, q.High, q.Low, q.Volume, p.Bars[0].O, hi, lo, vol)
		}
		if p.ID != log.Newest() {
			t.Errorf("%s: history id %d, the log's newest %d", q.Symbol, p.ID, log.Newest())
		}
	}
}

type sinkFunc func(name, symbol string, data any) error

func (f sinkFunc) Publish(name, symbol string, data any) error { return f(name, symbol, data) }

// The bytes on the wire for two trades in one minute.
func ExampleStore_Handler() {
	s := history.New([]string{"AAPL"}, history.Options{})
	s.Add("AAPL", 1_709_303_400_250, 180.5, 100)
	s.Add("AAPL", 1_709_303_430_000, 180.75, 20)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/history?symbol=AAPL&interval=1m")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	io.Copy(os.Stdout, resp.Body)
	// Output:
	// {"symbol":"AAPL","interval":"1m","id":0,"bars":[{"t":1709303400000,"o":180.5,"h":180.75,"l":180.5,"c":180.75,"v":120}]}
}

// A node fed by a broker appends the publisher's events with their ids
// (cluster.Consumer.Run feeds a Log); WrapLog folds them into the bars and
// passes them on to the real log.
func TestWrapLogFoldsWhatABrokerFedNodeAppends(t *testing.T) {
	log, err := feed.NewLog([]string{"A"}, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	store := history.New([]string{"A"}, history.Options{})
	l := store.WrapLog(log)
	for i, price := range []float64{10, 12, 11} {
		raw := fmt.Appendf(nil, `{"symbol":"A","price":%v,"size":100,"ts":%d}`, price, 60_000+i*1000)
		if err := l.Append(uint64(41+i), market.EventQuote, "A", raw); err != nil {
			t.Fatal(err)
		}
	}
	if got := log.Newest(); got != 43 {
		t.Errorf("the log's newest id is %d, want 43: WrapLog must pass every event on", got)
	}
	p, err := store.Query("A", "1m", 10)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != 43 || len(p.Bars) != 1 || p.Bars[0].O != 10 || p.Bars[0].H != 12 || p.Bars[0].C != 11 || p.Bars[0].V != 300 {
		t.Errorf("history over a broker-fed log: id %d, bars %+v; want id 43 and one bar 10/12/11 of 300 shares", p.ID, p.Bars)
	}
	tp, err := store.Trades("A", 10)
	if err != nil {
		t.Fatal(err)
	}
	if tp.ID != 43 || len(tp.Trades) != 3 || tp.Trades[2] != (history.Trade{T: 62_000, P: 11, S: 100}) {
		t.Errorf("trades over a broker-fed log: id %d, %+v; want id 43 and the three appended", tp.ID, tp.Trades)
	}
}

// A morning that reaches the store after live trades (a node fed by a
// broker takes it from the leader) gives the very bars that folding it
// first would have: Prepend puts the morning's bars before the live ones,
// at every interval, and merges the bar both share. Taken in twice, it
// counts once.
func TestAMorningPrependedIsAMorningFoldedFirst(t *testing.T) {
	var morning, live []history.Trade
	for k := range 2000 { // a trade every 1.7 s for about 57 minutes, then live
		tr := history.Trade{T: float64(k) * 1700, P: 100 + float64(k%37) - float64(k%11), S: int64(1 + k%9)}
		if k < 1500 {
			morning = append(morning, tr)
		} else {
			live = append(live, tr)
		}
	}
	// The 1s bars, one a trade, are more than kept; the 1m and 5m bars
	// of the morning's end are the live trades' first.
	const keep = 1500
	first := history.New([]string{"A", "B"}, history.Options{Keep: keep}) // the morning folded first, as a single node does
	late := history.New([]string{"A", "B"}, history.Options{Keep: keep})  // a node that took live trades first
	for _, tr := range morning {
		first.Add("A", tr.T, tr.P, tr.S)
	}
	for _, tr := range live {
		first.Add("A", tr.T, tr.P, tr.S)
		late.Add("A", tr.T, tr.P, tr.S)
	}
	for range 2 {
		if err := late.Prepend("A", morning); err != nil {
			t.Fatal(err)
		}
	}
	trimmed := 0
	for _, iv := range history.Intervals {
		want, _ := first.Query("A", iv.Name, history.MaxLimit)
		got, _ := late.Query("A", iv.Name, history.MaxLimit)
		if fmt.Sprint(got.Bars) != fmt.Sprint(want.Bars) {
			t.Errorf("%s: %d bars prepended differ from %d folded in order", iv.Name, len(got.Bars), len(want.Bars))
		}
		if len(want.Bars) == keep {
			trimmed++ // the 1s bars: more than kept, the oldest dropped
		}
	}
	if trimmed == 0 {
		t.Error("no interval had more bars than kept: the test does not check the trim")
	}
	// A symbol with nothing live yet takes its morning as it is.
	if err := late.Prepend("B", morning[:10]); err != nil {
		t.Fatal(err)
	}
	if p, _ := late.Query("B", "1s", history.MaxLimit); len(p.Bars) != 10 || p.Bars[0].O != morning[0].P {
		t.Errorf("B's morning of 10 trades, one a second: %v", p.Bars)
	}

	// The last trades too: the morning's come before the live ones, and
	// the newest are kept.
	tape := history.New([]string{"A"}, history.Options{})
	for _, tr := range live[:5] {
		tape.Add("A", tr.T, tr.P, tr.S)
	}
	if err := tape.Prepend("A", morning); err != nil {
		t.Fatal(err)
	}
	tp, _ := tape.Trades("A", history.TradesKept)
	wantTape := append(slices.Clone(morning[len(morning)-(history.TradesKept-5):]), live[:5]...)
	if fmt.Sprint(tp.Trades) != fmt.Sprint(wantTape) {
		t.Errorf("last trades after a morning prepended to 5 live ones: %d trades, from %v to %v; want the morning's last %d, then the 5",
			len(tp.Trades), tp.Trades[0], tp.Trades[len(tp.Trades)-1], history.TradesKept-5)
	}

	if err := late.Prepend("C", morning); err == nil {
		t.Error("a morning for an unknown symbol was taken")
	}
	fresh := history.New([]string{"A"}, history.Options{})
	if err := fresh.Prepend("A", []history.Trade{{T: 2000, P: 1, S: 1}, {T: 1000, P: 1, S: 1}}); err == nil {
		t.Error("a morning out of order was taken")
	}
}

// TestAFreshMarketsBarsArePacked checks what most of a node's memory is:
// the bars of a fresh simulated market's day so far. They are all whole
// cents, so the store keeps them at 24 bytes each, not a Bar's 48; with
// the rings' room to grow and the last trades, at most 40 bytes a bar
// (plain Bars took 66). A memory test, read after GC, not a timed one.
func TestAFreshMarketsBarsArePacked(t *testing.T) {
	start := time.Date(2024, 3, 1, 18, 0, 0, 0, time.UTC)
	src, err := market.Open(market.Config{Rate: 25, Seed: 5, Now: func() time.Time { return start }})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sym := range src.Symbols() {
		names = append(names, sym.Symbol)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := history.New(names, history.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err = src.Run(ctx, s.Sink(sinkFunc(func(string, string, any) error {
		if n++; n == 100 { // the morning is folded before the first event
			cancel()
		}
		return nil
	}), func() uint64 { return 0 }))
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	bars := 0
	for _, name := range names {
		for _, iv := range history.Intervals {
			p, _ := s.Query(name, iv.Name, history.MaxLimit)
			bars += len(p.Bars)
		}
	}
	per := float64(after.HeapAlloc-before.HeapAlloc) / float64(bars)
	t.Logf("%d bars of %d symbols: %.1f bytes each", bars, len(names), per)
	if bars < 100_000 || per > 40 {
		t.Errorf("%d bars of %d symbols hold %.1f bytes each, want 100,000 bars and more, at most 40 bytes each", bars, len(names), per)
	}
}
