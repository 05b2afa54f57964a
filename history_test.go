package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tickertape/internal/sse"
)

// A fresh server's chart opens on the day so far: its 1m history holds the
// morning the simulation traded before going live, and the day's figures in
// the snapshot agree with it.
func TestHistoryOfAFreshServer(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, "-seed", "4")
	before, body := sse.Get(t, s.url+"/api/snapshot")
	var snap struct {
		Quotes []struct {
			Symbol          string
			Open, High, Low float64
		}
	}
	json.Unmarshal([]byte(body), &snap)
	snapID, _ := strconv.ParseUint(before.Header.Get("X-Last-Event-ID"), 10, 64)
	var h struct {
		Symbol, Interval string
		ID               uint64
		Bars             []struct {
			T          int64
			O, H, L, C float64
			V          int64
		}
	}
	// The history folds an event just after the log has it, so it may be
	// a moment behind the snapshot: ask again, as the dashboard does.
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, body := sse.Get(t, s.url+"/api/history?symbol=AAPL&interval=1m&limit=5000")
		if err := json.Unmarshal([]byte(body), &h); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s %s: %v", resp.Status, body, err)
		}
		if h.ID >= snapID || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling the server's view
	}
	if h.Symbol != "AAPL" || h.Interval != "1m" || len(h.Bars) < 60 || h.ID < snapID {
		t.Fatalf("history: %s %s, %d bars, id %d (snapshot %d): want the day so far, at least 60 bars", h.Symbol, h.Interval, len(h.Bars), h.ID, snapID)
	}
	for i := 1; i < len(h.Bars); i++ {
		if h.Bars[i].T <= h.Bars[i-1].T || h.Bars[i].T%60000 != 0 {
			t.Fatalf("bar %d starts at %d after %d", i, h.Bars[i].T, h.Bars[i-1].T)
		}
	}
	if first := time.UnixMilli(h.Bars[0].T); time.Since(first) < 90*time.Minute {
		t.Errorf("the day opened at %v, %v ago; want about a quarter of a trading day (97.5 min)", first, time.Since(first))
	}
	var q = snap.Quotes[0]
	for _, x := range snap.Quotes {
		if x.Symbol == "AAPL" {
			q = x
		}
	}
	hi, lo := h.Bars[0].H, h.Bars[0].L
	for _, b := range h.Bars {
		hi, lo = max(hi, b.H), min(lo, b.L)
	}
	if q.Open != h.Bars[0].O || hi < q.High || lo > q.Low {
		t.Errorf("AAPL's day: open %v high %v low %v; its bars: open %v high %v low %v", q.Open, q.High, q.Low, h.Bars[0].O, hi, lo)
	}

	// Mistakes are 400s with the API's JSON error; a POST is a 405.
	for _, p := range []string{"symbol=NOPE&interval=1m", "symbol=AAPL&interval=2m", "symbol=AAPL&interval=1m&limit=9999"} {
		resp, body := sse.Get(t, s.url+"/api/history?"+p)
		var e map[string]any
		if resp.StatusCode != 400 || json.Unmarshal([]byte(body), &e) != nil || e["error"] == nil {
			t.Errorf("%s: %s %s, want 400 with a JSON error", p, resp.Status, body)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, s.url+"/api/history?symbol=AAPL&interval=1m", nil)
	if resp, body := sse.Do(t, req); resp.StatusCode != 405 || !strings.Contains(body, `"error"`) {
		t.Errorf("POST: %s %s", resp.Status, body)
	}
}

// A fresh server's time and sales opens on the latest trades: the morning
// the simulation traded is in /api/trades at once, and every quote the
// stream delivered at or below the page's id is among its trades, with its
// time, price and size.
func TestTradesOfAFreshServer(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, "-seed", "4", "-rate", "400")
	type page struct {
		Symbol string
		ID     uint64
		Trades []struct {
			T, P float64
			S    int64
		}
	}
	var first page
	resp, body := sse.Get(t, s.url+"/api/trades?symbol=AAPL")
	if err := json.Unmarshal([]byte(body), &first); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s %s: %v", resp.Status, body, err)
	}
	if first.Symbol != "AAPL" || len(first.Trades) != 50 {
		t.Fatalf("a fresh server: %s with %d trades, want the morning's last 50", first.Symbol, len(first.Trades))
	}
	for i := 1; i < len(first.Trades); i++ {
		if first.Trades[i].T < first.Trades[i-1].T || !(first.Trades[i].P > 0) || first.Trades[i].S <= 0 {
			t.Fatalf("trade %d: %+v after %+v", i, first.Trades[i], first.Trades[i-1])
		}
	}

	c := sse.Open(t, nil, s.url+"/events?symbols=AAPL&events=quote")
	defer c.Stop()
	if ev := c.Next(t); ev.Name != "snapshot" {
		t.Fatalf("first event %s", ev.Name)
	}
	type trade struct {
		TS, Price float64
		Size      int64
	}
	var seen []trade
	var last uint64
	for len(seen) < 3 {
		ev := c.Next(t)
		if ev.Name != "quote" {
			continue
		}
		var q trade
		if err := json.Unmarshal([]byte(ev.Data), &q); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, q)
		last = sse.ID(t, ev)
	}
	// The server folds an event into the trades just after the log has it,
	// and so its stream may deliver it first: ask until the trades have
	// caught up with the stream (API.md: id is the newest event folded in).
	var p page
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, body = sse.Get(t, s.url+"/api/trades?symbol=AAPL&limit=200")
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		if p.ID >= last || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling the server's view
	}
	if p.ID < last || len(p.Trades) != 200 {
		t.Fatalf("after quote %d: id %d, %d trades", last, p.ID, len(p.Trades))
	}
	for _, q := range seen {
		found := false
		for _, tr := range p.Trades {
			found = found || (tr.T == q.TS && tr.P == q.Price && tr.S == q.Size)
		}
		if !found {
			t.Errorf("the stream's quote %+v (at or below id %d) is not among the trades", q, p.ID)
		}
	}

	for _, q := range []string{"symbol=NOPE", "", "symbol=AAPL&limit=201", "symbol=AAPL&interval=1m"} {
		resp, body := sse.Get(t, s.url+"/api/trades?"+q)
		var e map[string]any
		if resp.StatusCode != 400 || json.Unmarshal([]byte(body), &e) != nil || e["error"] == nil {
			t.Errorf("%q: %s %s, want 400 with a JSON error", q, resp.Status, body)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, s.url+"/api/trades?symbol=AAPL", nil)
	if resp, body := sse.Do(t, req); resp.StatusCode != 405 || !strings.Contains(body, `"error"`) {
		t.Errorf("POST: %s %s", resp.Status, body)
	}
}

// A file source builds its history as it plays, and when it runs out the
// stream says the feed ended.
func TestAFileSourcesHistoryAndItsEnd(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, "-source", "file:testdata/small.csv", "-speed", "0")
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body := sse.Get(t, s.url+"/api/snapshot")
		var snap struct {
			Session *struct{ State, Reason string }
		}
		json.Unmarshal([]byte(body), &snap)
		if snap.Session != nil && snap.Session.State == "ended" && snap.Session.Reason != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ended status after the file ran out: %s", body)
		}
		time.Sleep(20 * time.Millisecond) // polling the server, not synchronising
	}
	c := sse.Open(t, nil, s.url+"/events")
	if ev := c.Next(t); ev.Name != "snapshot" || !strings.Contains(ev.Data, `"state":"ended"`) {
		t.Errorf("a client joining after the end: %s %s", ev.Name, ev.Data)
	}
	_, body := sse.Get(t, s.url+"/api/history?symbol=ACME&interval=5s")
	var h struct {
		Bars []struct {
			T int64
			C float64
			V int64
		}
	}
	json.Unmarshal([]byte(body), &h)
	var vol int64
	for _, b := range h.Bars {
		vol += b.V
	}
	// small.csv: ACME trades from 14:30:00.687 to its last row at 23.19.
	if len(h.Bars) < 3 || h.Bars[0].T != time.Date(2024, 3, 1, 14, 30, 0, 0, time.UTC).UnixMilli() || h.Bars[len(h.Bars)-1].C != 23.19 || vol < 1000 {
		t.Errorf("ACME 5s bars from the file: %s", body)
	}
}

// A fresh server's watchlist opens on every symbol's last trades in one
// request: GET /api/trades?symbols= answers each symbol as the one-symbol
// form does, with one id at or above the stream's, and the symbols list's
// mistakes are the very errors /events answers for the same list.
func TestTradesOfManySymbolsOfAFreshServer(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, "-seed", "4", "-rate", "400", "-max-filter-symbols", "3")
	type trade struct {
		T, P float64
		S    int64
	}
	type batch struct {
		ID      uint64
		Symbols []struct {
			Symbol string
			Trades []trade
		}
	}
	_, body := sse.Get(t, s.url+"/api/symbols")
	var symbols []struct{ Symbol string }
	json.Unmarshal([]byte(body), &symbols)

	c := sse.Open(t, nil, s.url+"/events?symbols=AAPL,MSFT&events=quote")
	defer c.Stop()
	if ev := c.Next(t); ev.Name != "snapshot" {
		t.Fatalf("first event %s", ev.Name)
	}
	seen := map[string][]trade{}
	var last uint64
	for n := 0; n < 4; {
		ev := c.Next(t)
		if ev.Name != "quote" {
			continue
		}
		var q struct {
			Symbol    string
			TS, Price float64
			Size      int64
		}
		if err := json.Unmarshal([]byte(ev.Data), &q); err != nil {
			t.Fatal(err)
		}
		seen[q.Symbol] = append(seen[q.Symbol], trade{q.TS, q.Price, q.Size})
		last = sse.ID(t, ev)
		n++
	}
	// As in TestTradesOfAFreshServer, the trades may be a moment behind
	// the stream: ask until their id has caught up.
	var b batch
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, body := sse.Get(t, s.url+"/api/trades?symbols=&limit=200")
		if err := json.Unmarshal([]byte(body), &b); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s %s: %v", resp.Status, body, err)
		}
		if b.ID >= last || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling the server's view
	}
	if b.ID < last || len(b.Symbols) != len(symbols) {
		t.Fatalf("after quote %d: id %d, %d symbols of %d", last, b.ID, len(b.Symbols), len(symbols))
	}
	for i, st := range b.Symbols {
		if st.Symbol != symbols[i].Symbol || len(st.Trades) != 200 {
			t.Fatalf("symbol %d: %s with %d trades; want %s (the order of /api/symbols) with the morning's and the day's last 200", i, st.Symbol, len(st.Trades), symbols[i].Symbol)
		}
	}
	for sym, qs := range seen {
		for _, q := range qs {
			found := false
			for _, st := range b.Symbols {
				found = found || (st.Symbol == sym && slices.Contains(st.Trades, q))
			}
			if !found {
				t.Errorf("the stream's %s quote %+v (at or below id %d) is not among the batch's trades", sym, q, b.ID)
			}
		}
	}

	// Each symbol as the one-symbol form has it, asked just after: the
	// batch's trades are its own, but for the trades made between the two
	// answers (at most one per event between their ids).
	for _, st := range b.Symbols[:5] {
		var p struct {
			Symbol string
			ID     uint64
			Trades []trade
		}
		_, body := sse.Get(t, s.url+"/api/trades?symbol="+st.Symbol+"&limit=200")
		if err := json.Unmarshal([]byte(body), &p); err != nil || p.ID < b.ID {
			t.Fatalf("%s: %s: %v", st.Symbol, body, err)
		}
		newer := 0
		for newer < len(p.Trades) && !slices.Equal(p.Trades[:len(p.Trades)-newer], st.Trades[newer:]) {
			newer++
		}
		if newer == len(p.Trades) || uint64(newer) > p.ID-b.ID {
			t.Errorf("%s: the batch's trades (id %d) are not the one-symbol form's (id %d) up to %d newer ones", st.Symbol, b.ID, p.ID, newer)
		}
	}

	// The list's mistakes: the error /events gives for the same symbols.
	for _, q := range []string{"NOPE", "aapl,NOPE,Zzz,nope", "AAPL,MSFT,XOM,JPM"} {
		resp, body := sse.Get(t, s.url+"/api/trades?symbols="+q)
		eresp, ebody := sse.Get(t, s.url+"/events?symbols="+q)
		var e map[string]any
		if resp.StatusCode != 400 || json.Unmarshal([]byte(body), &e) != nil || e["error"] == nil || body != ebody || eresp.StatusCode != 400 {
			t.Errorf("symbols=%s: %s %s, want 400 with the error of /events (%s %s)", q, resp.Status, body, eresp.Status, ebody)
		}
	}
	for _, q := range []string{"symbols=AAPL&limit=201", "symbols=AAPL&symbol=AAPL", "symbols=AAPL&interval=1m"} {
		resp, body := sse.Get(t, s.url+"/api/trades?"+q)
		var e map[string]any
		if resp.StatusCode != 400 || json.Unmarshal([]byte(body), &e) != nil || e["error"] == nil {
			t.Errorf("%q: %s %s, want 400 with a JSON error", q, resp.Status, body)
		}
	}
}
