package feed

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Bounds on what a query may ask for, so no request can cost much to parse.
const (
	// MinThrottle and MaxThrottle bound the throttle parameter.
	MinThrottle = 10 * time.Millisecond
	MaxThrottle = time.Minute
)

// Filter is what a subscriber asked for: which symbols, which kinds of
// event, and how much to conflate.
type Filter struct {
	// Symbols has one flag per symbol of the log; nil means all symbols.
	Symbols []bool
	// Kinds has one bit per Kind; 0 means all kinds.
	Kinds uint8
	// Throttle, when positive, conflates: once per interval the newest
	// quote and score of each symbol, and the interval's market and status
	// events (docs/API.md).
	Throttle time.Duration
}

// wants reports whether the filter passes an entry.
func (f *Filter) wants(e *entry) bool {
	if f.Kinds != 0 && f.Kinds&(1<<e.kind) == 0 {
		return false
	}
	return e.sym < 0 || f.Symbols == nil || f.Symbols[e.sym]
}

// QueryLimits bounds what one query may ask for.
type QueryLimits struct {
	// MaxSymbols is the most symbols one filter may name (0: no limit but
	// the log's own symbol count times two).
	MaxSymbols int
}

// ParseQuery reads a stream request's query: symbols, events, throttle and
// lastEventId (which it leaves to the caller). Any other parameter, an
// unknown symbol or event name, or a bad throttle is a *RequestError naming
// each bad value; nothing is half-applied.
func (l *Log) ParseQuery(rawQuery string, lim QueryLimits) (Filter, error) {
	var f Filter
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return f, &RequestError{Status: 400, Message: fmt.Sprintf("malformed query: %v", err)}
	}
	var msgs []string
	bad := &RequestError{Status: 400}
	for k := range q {
		switch k {
		case "symbols", "events", "throttle", "lastEventId":
		default:
			bad.UnknownParams = append(bad.UnknownParams, k)
		}
	}
	if len(bad.UnknownParams) > 0 {
		slices.Sort(bad.UnknownParams)
		msgs = append(msgs, fmt.Sprintf("unknown query parameter(s) %s; use symbols, events, throttle, lastEventId", quoteList(bad.UnknownParams)))
	}
	for _, k := range []string{"symbols", "events", "throttle", "lastEventId"} {
		if len(q[k]) > 1 {
			msgs = append(msgs, fmt.Sprintf("%s given %d times; give it once (symbols and events take a comma list)", k, len(q[k])))
		}
	}

	if v := q.Get("symbols"); v != "" {
		syms, err := ParseSymbols(v, l.symIndex, lim)
		if re, ok := errors.AsType[*RequestError](err); ok && len(re.UnknownSymbols) > 0 {
			bad.UnknownSymbols = re.UnknownSymbols
			msgs = append(msgs, re.Message)
		} else if err != nil {
			return f, err // too many names: said alone, at once
		}
		f.Symbols = syms
	}
	if v := q.Get("events"); v != "" {
		for _, n := range strings.Split(v, ",") {
			n = strings.ToLower(strings.TrimSpace(n))
			if n == "" {
				continue
			}
			k, ok := kindOf(n)
			if !ok {
				if len(bad.UnknownEvents) < 16 && !slices.Contains(bad.UnknownEvents, n) {
					bad.UnknownEvents = append(bad.UnknownEvents, n)
				}
				continue
			}
			f.Kinds |= 1 << k
		}
		if len(bad.UnknownEvents) > 0 {
			msgs = append(msgs, fmt.Sprintf("unknown event(s) %s; use any of quote, score, market, status", quoteList(bad.UnknownEvents)))
		}
	}
	if v := q.Get("throttle"); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			msgs = append(msgs, fmt.Sprintf("throttle %q is not a duration; use one like 250ms or 1s", v))
		case d != 0 && (d < MinThrottle || d > MaxThrottle):
			msgs = append(msgs, fmt.Sprintf("throttle %s is out of range; use 0 or %s to %s", d, MinThrottle, MaxThrottle))
		default:
			f.Throttle = d
		}
	}
	if len(msgs) > 0 {
		bad.Message = strings.Join(msgs, "; ")
		return Filter{}, bad
	}
	return f, nil
}

// ParseSymbols reads a symbols parameter as /events has it (docs/API.md): a
// comma list of names of index (symbol to position), case-insensitive,
// spaces around names ignored. It returns one flag per symbol, or nil for
// all when the list names none ("" or ","). More names than lim allows is
// a *RequestError saying so; unknown names are one naming each in
// UnknownSymbols. Every endpoint that takes a symbols list reads it here.
func ParseSymbols(list string, index map[string]int, lim QueryLimits) ([]bool, error) {
	if list == "" {
		return nil, nil
	}
	limit := lim.MaxSymbols
	if limit <= 0 {
		limit = 2 * len(index)
	}
	names := strings.Split(list, ",")
	if len(names) > limit {
		return nil, &RequestError{Status: 400, Message: fmt.Sprintf("symbols names %d symbols; at most %d are allowed in one filter", len(names), limit)}
	}
	flags := make([]bool, len(index))
	var unknown []string
	any := false
	for _, n := range names {
		n = strings.ToUpper(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		i, ok := index[n]
		if !ok {
			if !slices.Contains(unknown, n) {
				unknown = append(unknown, n)
			}
			continue
		}
		flags[i] = true
		any = true
	}
	if len(unknown) > 0 {
		return nil, &RequestError{Status: 400, UnknownSymbols: unknown,
			Message: fmt.Sprintf("unknown symbol(s) %s; GET /api/symbols lists them", quoteList(unknown))}
	}
	if !any {
		return nil, nil // "symbols=,": all, as if absent
	}
	return flags, nil
}

// LastEventID returns the id of the last event a client saw, from which
// it resumes: the Last-Event-ID header that EventSource sends when it
// reconnects, or else the lastEventId query parameter (which a WebSocket
// client, or a page that kept the id itself, can give). "" is none.
func LastEventID(r *http.Request) string {
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		return id
	}
	return r.URL.Query().Get("lastEventId")
}

func quoteList(items []string) string {
	var b strings.Builder
	for i, s := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", s)
	}
	return b.String()
}
