package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"tickertape/feed"
)

// Handler serves GET /api/history?symbol=S&interval=I[&limit=N] (API.md).
// A client's mistake is a 400 with feed's JSON error body, naming each bad
// value.
func (s *Store) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sym, iv, limit, err := s.parse(r.URL.RawQuery)
		if err != nil {
			feed.WriteError(w, err)
			return
		}
		p, err := s.Query(sym, iv, limit)
		if err != nil { // parse has checked everything Query checks
			feed.WriteError(w, &feed.RequestError{Status: http.StatusBadRequest, Message: err.Error()})
			return
		}
		writeJSON(w, p)
	})
}

// TradesHandler serves GET /api/trades?symbol=S[&limit=N] (API.md): the
// symbol's last trades, for time and sales; and, with symbols=A,B (or
// symbols= for all) instead of symbol, those of many symbols in one answer,
// for a watchlist's sparklines, the list read as /events reads it, within
// lim. Mistakes are answered as Handler answers them.
func (s *Store) TradesHandler(lim feed.QueryLimits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := parseQuery(r.URL.RawQuery)
		if err != nil {
			feed.WriteError(w, err)
			return
		}
		if v.Has("symbols") {
			s.serveTradesOf(w, readQuery(v, "symbols", "limit"), lim)
			return
		}
		q := readQuery(v, "symbol", "limit")
		sym := q.symbol(s, "?symbol=AAPL")
		limit := q.limit(DefaultTrades, TradesKept)
		if err := q.err(); err != nil {
			feed.WriteError(w, err)
			return
		}
		p, err := s.Trades(sym, limit)
		if err != nil { // the query has checked everything Trades checks
			feed.WriteError(w, &feed.RequestError{Status: http.StatusBadRequest, Message: err.Error()})
			return
		}
		writeJSON(w, p)
	})
}

// serveTradesOf answers GET /api/trades?symbols=A,B[&limit=N].
func (s *Store) serveTradesOf(w http.ResponseWriter, q *query, lim feed.QueryLimits) {
	syms, err := feed.ParseSymbols(q.values.Get("symbols"), s.index, lim)
	if re, ok := errors.AsType[*feed.RequestError](err); ok && len(re.UnknownSymbols) > 0 {
		q.bad.UnknownSymbols = re.UnknownSymbols
		q.msgs = append(q.msgs, re.Message)
	} else if err != nil {
		feed.WriteError(w, err) // too many names: said alone, as /events says it
		return
	}
	limit := q.limit(DefaultTrades, TradesKept)
	if err := q.err(); err != nil {
		feed.WriteError(w, err)
		return
	}
	b, err := s.TradesOf(syms, limit)
	if err != nil { // the query has checked everything TradesOf checks
		feed.WriteError(w, &feed.RequestError{Status: http.StatusBadRequest, Message: err.Error()})
		return
	}
	writeJSON(w, b)
}

func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		feed.WriteError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(body, '\n'))
}

// parse reads a history query; any mistake is a *feed.RequestError naming
// every bad value at once.
func (s *Store) parse(rawQuery string) (sym, interval string, limit int, err error) {
	v, err := parseQuery(rawQuery)
	if err != nil {
		return "", "", 0, err
	}
	q := readQuery(v, "symbol", "interval", "limit")
	sym = q.symbol(s, "?symbol=AAPL&interval=1m")
	interval = strings.TrimSpace(q.values.Get("interval"))
	known := false
	for _, iv := range Intervals {
		known = known || iv.Name == interval
	}
	switch {
	case interval == "":
		q.msgs = append(q.msgs, fmt.Sprintf("interval is required: one of %s", intervalNames()))
	case !known:
		q.msgs = append(q.msgs, fmt.Sprintf("interval %q is not one of %s", interval, intervalNames()))
	}
	limit = q.limit(DefaultLimit, MaxLimit)
	if err := q.err(); err != nil {
		return "", "", 0, err
	}
	return sym, interval, limit, nil
}

// query is a request's parameters as they are read, and what was wrong
// with them so far, so that one answer names every mistake.
type query struct {
	values url.Values
	bad    feed.RequestError
	msgs   []string
}

// parseQuery parses rawQuery; a query that does not parse is a
// *feed.RequestError.
func parseQuery(rawQuery string) (url.Values, error) {
	v, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, &feed.RequestError{Status: http.StatusBadRequest, Message: fmt.Sprintf("malformed query: %v", err)}
	}
	return v, nil
}

// readQuery starts reading v, which may hold each of params once: the
// mistakes are collected, for q.err to name them all.
func readQuery(v url.Values, params ...string) *query {
	q := &query{values: v, bad: feed.RequestError{Status: http.StatusBadRequest}}
	for k := range v {
		if !slices.Contains(params, k) {
			q.bad.UnknownParams = append(q.bad.UnknownParams, k)
		}
	}
	if len(q.bad.UnknownParams) > 0 {
		slices.Sort(q.bad.UnknownParams)
		q.msgs = append(q.msgs, fmt.Sprintf("unknown query parameter(s) %s; use %s", quoteList(q.bad.UnknownParams), strings.Join(params, ", ")))
	}
	for _, k := range params {
		if len(v[k]) > 1 {
			q.msgs = append(q.msgs, fmt.Sprintf("%s given %d times; give it once", k, len(v[k])))
		}
	}
	return q
}

// symbol reads the required symbol, one the store knows; example is a
// query that the message for a missing one shows.
func (q *query) symbol(s *Store, example string) string {
	sym := strings.ToUpper(strings.TrimSpace(q.values.Get("symbol")))
	switch _, known := s.index[sym]; {
	case sym == "":
		q.msgs = append(q.msgs, "symbol is required, e.g. "+example)
	case !known:
		q.bad.UnknownSymbols = []string{sym}
		q.msgs = append(q.msgs, fmt.Sprintf("unknown symbol %q; GET /api/symbols lists them", sym))
	}
	return sym
}

// limit reads the optional limit, from 1 to most; def without one.
func (q *query) limit(def, most int) int {
	v := q.values.Get("limit")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 || n > most {
		q.msgs = append(q.msgs, fmt.Sprintf("limit %q: want a whole number from 1 to %d", v, most))
		return def
	}
	return n
}

// err is every mistake found, as one *feed.RequestError, or nil.
func (q *query) err() error {
	if len(q.msgs) == 0 {
		return nil
	}
	q.bad.Message = strings.Join(q.msgs, "; ")
	return &q.bad
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
