package history

import (
	"encoding/json"
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
		body, err := json.Marshal(p)
		if err != nil {
			feed.WriteError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(append(body, '\n'))
	})
}

// parse reads a history query; any mistake is a *feed.RequestError naming
// every bad value at once.
func (s *Store) parse(rawQuery string) (sym, interval string, limit int, err error) {
	q, perr := url.ParseQuery(rawQuery)
	if perr != nil {
		return "", "", 0, &feed.RequestError{Status: http.StatusBadRequest, Message: fmt.Sprintf("malformed query: %v", perr)}
	}
	bad := &feed.RequestError{Status: http.StatusBadRequest}
	var msgs []string
	for k := range q {
		switch k {
		case "symbol", "interval", "limit":
		default:
			bad.UnknownParams = append(bad.UnknownParams, k)
		}
	}
	if len(bad.UnknownParams) > 0 {
		slices.Sort(bad.UnknownParams)
		msgs = append(msgs, fmt.Sprintf("unknown query parameter(s) %s; use symbol, interval, limit", quoteList(bad.UnknownParams)))
	}
	for _, k := range []string{"symbol", "interval", "limit"} {
		if len(q[k]) > 1 {
			msgs = append(msgs, fmt.Sprintf("%s given %d times; give it once", k, len(q[k])))
		}
	}
	sym = strings.ToUpper(strings.TrimSpace(q.Get("symbol")))
	switch _, known := s.index[sym]; {
	case sym == "":
		msgs = append(msgs, "symbol is required, e.g. ?symbol=AAPL&interval=1m")
	case !known:
		bad.UnknownSymbols = []string{sym}
		msgs = append(msgs, fmt.Sprintf("unknown symbol %q; GET /api/symbols lists them", sym))
	}
	interval = strings.TrimSpace(q.Get("interval"))
	known := false
	for _, iv := range Intervals {
		known = known || iv.Name == interval
	}
	switch {
	case interval == "":
		msgs = append(msgs, fmt.Sprintf("interval is required: one of %s", intervalNames()))
	case !known:
		msgs = append(msgs, fmt.Sprintf("interval %q is not one of %s", interval, intervalNames()))
	}
	limit = DefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > MaxLimit {
			msgs = append(msgs, fmt.Sprintf("limit %q: want a whole number from 1 to %d", v, MaxLimit))
		} else {
			limit = n
		}
	}
	if len(msgs) > 0 {
		bad.Message = strings.Join(msgs, "; ")
		return "", "", 0, bad
	}
	return sym, interval, limit, nil
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
