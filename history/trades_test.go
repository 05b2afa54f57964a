package history_test

import (
	"fmt"
	"testing"

	"net/http/httptest"

	"tickertape/feed"
	"tickertape/history"
	"tickertape/market"
)

// The last trades a symbol made, through HTTP: the morning's (no id) and
// the live ones (with the log's id), oldest first, the newest TradesKept
// kept, and mistakes named as /api/history names them.
func TestTheLastTradesThroughHTTP(t *testing.T) {
	names := []string{"AAPL", "MSFT"}
	log, err := feed.NewLog(names, 100, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	s := history.New(names, history.Options{})
	sink := s.Sink(log, log.Newest)
	srv := httptest.NewServer(s.TradesHandler(feed.QueryLimits{}))
	defer srv.Close()

	var p history.TradePage
	get(t, srv, "/api/trades?symbol=AAPL", &p)
	if p.Symbol != "AAPL" || p.ID != 0 || p.Trades == nil || len(p.Trades) != 0 {
		t.Fatalf("before any trade: %+v, want an empty list and id 0", p)
	}

	// The morning: 250 trades without ids, more than a symbol keeps.
	b := sink.(market.Backfiller)
	for k := range 250 {
		b.Backfill(market.EventQuote, "AAPL", &market.Quote{Symbol: "AAPL", Price: 100 + float64(k)/100, Size: int64(k + 1), TS: 1000 + float64(k)})
	}
	// Then live: a quote of each symbol and a score, each given an id by the log.
	for _, ev := range []struct {
		name string
		data any
	}{
		{market.EventQuote, &market.Quote{Symbol: "AAPL", Price: 103.5, Size: 7, TS: 2000.5}},
		{market.EventQuote, &market.Quote{Symbol: "MSFT", Price: 400, Size: 3, TS: 2001}},
		{market.EventScore, &market.Score{Symbol: "AAPL"}},
	} {
		sym := "AAPL"
		if q, ok := ev.data.(*market.Quote); ok {
			sym = q.Symbol
		}
		if err := sink.Publish(ev.name, sym, ev.data); err != nil {
			t.Fatal(err)
		}
	}

	resp, body := get(t, srv, "/api/trades?symbol=aapl", &p)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%s %s", resp.Status, body)
	}
	if p.Symbol != "AAPL" || p.ID != log.Newest() || p.ID != 1002 || len(p.Trades) != history.DefaultTrades {
		t.Fatalf("AAPL: %s, id %d, %d trades; want id %d (the score's) and %d trades", p.Symbol, p.ID, len(p.Trades), log.Newest(), history.DefaultTrades)
	}
	if last := p.Trades[len(p.Trades)-1]; last != (history.Trade{T: 2000.5, P: 103.5, S: 7}) {
		t.Errorf("the newest trade is %+v, want the live quote's t, p, s", last)
	}
	if before := p.Trades[len(p.Trades)-2]; before != (history.Trade{T: 1249, P: 102.49, S: 250}) {
		t.Errorf("the trade before it is %+v, want the morning's last", before)
	}
	for i := 1; i < len(p.Trades); i++ {
		if p.Trades[i].T <= p.Trades[i-1].T {
			t.Fatalf("trades out of order at %d: %v", i, p.Trades[i-1:i+1])
		}
	}
	get(t, srv, "/api/trades?symbol=AAPL&limit=200", &p)
	if len(p.Trades) != history.TradesKept || p.Trades[0].S != 52 {
		t.Errorf("limit=200: %d trades, the oldest of size %d; want the newest %d (the oldest the morning's 52nd)", len(p.Trades), p.Trades[0].S, history.TradesKept)
	}
	get(t, srv, "/api/trades?symbol=MSFT&limit=1", &p)
	if len(p.Trades) != 1 || p.Trades[0].P != 400 || p.ID != 1002 {
		t.Errorf("MSFT limit=1: %+v", p)
	}

	badRequests(t, srv, "/api/trades", []badRequest{
		{"symbol=ZZZ", []string{`"ZZZ"`}, "unknownSymbols"},
		{"", []string{"symbol is required"}, ""},
		{"symbol=AAPL&limit=201", []string{`limit "201"`, "200"}, ""},
		{"symbol=AAPL&limit=0", []string{`limit "0"`}, ""},
		{"symbol=AAPL&limit=ten", []string{`limit "ten"`}, ""},
		{"symbol=AAPL&interval=1m", []string{`"interval"`, "symbol, limit"}, "unknownParams"},
		{"symbol=AAPL&limit=5&limit=6", []string{"limit given 2 times"}, ""},
		{"symbol=ZZZ&limit=-1&since=0", []string{`"ZZZ"`, `limit "-1"`, `"since"`}, "unknownSymbols"},
	})
}

// Many symbols' last trades in one request, through HTTP: each symbol's
// trades as the one-symbol form has them, in the order of the symbols, with
// one id; symbols= is every symbol; the list's mistakes are named as
// /events names them, its limit included.
func TestTheLastTradesOfManySymbolsThroughHTTP(t *testing.T) {
	names := []string{"AAPL", "MSFT", "XOM"}
	log, err := feed.NewLog(names, 100, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	s := history.New(names, history.Options{})
	sink := s.Sink(log, log.Newest)
	srv := httptest.NewServer(s.TradesHandler(feed.QueryLimits{MaxSymbols: 4}))
	defer srv.Close()

	var b history.TradesBatch
	get(t, srv, "/api/trades?symbols=", &b)
	if b.ID != 0 || len(b.Symbols) != 3 || b.Symbols[2].Symbol != "XOM" || b.Symbols[2].Trades == nil || len(b.Symbols[2].Trades) != 0 {
		t.Fatalf("before any trade: %+v, want every symbol with an empty list and id 0", b)
	}

	// AAPL trades 60 times (the last of size 61), MSFT twice, XOM never.
	for k := range 62 {
		sym := "AAPL"
		if k%31 == 30 {
			sym = "MSFT"
		}
		q := &market.Quote{Symbol: sym, Price: 100 + float64(k), Size: int64(k + 1), TS: 1000 + float64(k)}
		if err := sink.Publish(market.EventQuote, sym, q); err != nil {
			t.Fatal(err)
		}
	}
	one := func(sym, limit string) history.TradePage {
		var p history.TradePage
		get(t, srv, "/api/trades?symbol="+sym+limit, &p)
		return p
	}
	for _, c := range []struct {
		query, limit string
		want         []string
	}{
		{"symbols=xom,%20aapl", "", []string{"AAPL", "XOM"}}, // the order of the symbols, not of the list
		{"symbols=MSFT,MSFT,msft", "&limit=1", []string{"MSFT"}},
		{"symbols=,", "&limit=200", names},
		{"symbols=", "", names},
	} {
		resp, body := get(t, srv, "/api/trades?"+c.query+c.limit, &b)
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: %s %s", c.query, resp.Status, body)
		}
		if b.ID != log.Newest() || b.ID != 1061 {
			t.Errorf("%s: id %d, want %d (the newest event)", c.query, b.ID, log.Newest())
		}
		var got []string
		for _, st := range b.Symbols {
			got = append(got, st.Symbol)
			p := one(st.Symbol, c.limit)
			if p.ID != b.ID || fmt.Sprint(p.Trades) != fmt.Sprint(st.Trades) {
				t.Errorf("%s: %s's trades %v (id %d), the one-symbol form's %v (id %d)", c.query, st.Symbol, st.Trades, b.ID, p.Trades, p.ID)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: symbols %v, want %v", c.query, got, c.want)
		}
	}
	if get(t, srv, "/api/trades?symbols=AAPL", &b); len(b.Symbols[0].Trades) != history.DefaultTrades || b.Symbols[0].Trades[49].S != 61 {
		t.Errorf("AAPL without limit: %d trades, the newest %+v; want the newest %d", len(b.Symbols[0].Trades), b.Symbols[0].Trades[len(b.Symbols[0].Trades)-1], history.DefaultTrades)
	}

	badRequests(t, srv, "/api/trades", []badRequest{
		{"symbols=AAPL,ZZZ,YYY,zzz", []string{`"ZZZ", "YYY"`, "/api/symbols"}, "unknownSymbols"},
		{"symbols=A,B,C,D,E", []string{"5 symbols", "at most 4"}, ""},
		{"symbols=AAPL&limit=201", []string{`limit "201"`, "200"}, ""},
		{"symbols=AAPL&symbol=AAPL", []string{`"symbol"`, "symbols, limit"}, "unknownParams"},
		{"symbols=AAPL&symbols=MSFT", []string{"symbols given 2 times"}, ""},
		{"symbols=ZZZ&limit=0&events=quote", []string{`"ZZZ"`, `limit "0"`, `"events"`}, "unknownSymbols"},
		{"symbols=AAPL&limit=%zz", []string{"malformed query"}, ""},
	})
}

// A trade keeps the time its quote had, even when the clock stepped back
// (a bar folds it into the newest one instead), and what is not a price is
// not a trade.
func TestATradeKeepsItsOwnTime(t *testing.T) {
	s := history.New([]string{"A"}, history.Options{})
	s.Add("A", 10_000, 5, 1)
	s.Add("A", 2_000, 6, 2)
	s.Add("A", 3_000, 0, 1)  // no price
	s.Add("A", 4_000, -1, 1) // no price either
	p, err := s.Trades("A", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Trades) != 2 || p.Trades[1] != (history.Trade{T: 2_000, P: 6, S: 2}) {
		t.Errorf("trades %+v, want the two priced ones as they came", p.Trades)
	}
	if _, err := s.Trades("B", 10); err == nil {
		t.Error("an unknown symbol has trades")
	}
	if _, err := s.Trades("A", history.TradesKept+1); err == nil {
		t.Error("more trades than are kept were asked for and given")
	}
}
