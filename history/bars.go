package history

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// Interval is a bar length the store keeps.
type Interval struct {
	Name   string // as in the query: "1s", "1m"
	Millis int64
}

// Intervals are the bar lengths every symbol has, shortest first.
var Intervals = [...]Interval{{"1s", 1000}, {"5s", 5000}, {"15s", 15000}, {"1m", 60000}, {"5m", 300000}}

// intervalNames lists Intervals for error messages: "1s, 5s, 15s, 1m, 5m".
func intervalNames() string {
	names := make([]string, len(Intervals))
	for i, iv := range Intervals {
		names[i] = iv.Name
	}
	return strings.Join(names, ", ")
}

// Bar is one interval of a symbol's trading, as API.md's history has it.
type Bar struct {
	T int64   `json:"t"` // start, Unix ms, a multiple of the interval
	O float64 `json:"o"`
	H float64 `json:"h"`
	L float64 `json:"l"`
	C float64 `json:"c"`
	V int64   `json:"v"` // shares traded in the bar
}

// Page is the answer to one history request.
type Page struct {
	Symbol   string `json:"symbol"`
	Interval string `json:"interval"`
	ID       uint64 `json:"id"`
	Bars     []Bar  `json:"bars"`
}

// Default and bounds of the bars kept per symbol and interval.
const (
	// MaxLimit is the most bars one request may ask for.
	MaxLimit = 5000
	// DefaultLimit is what a request without limit gets.
	DefaultLimit = 500
	// budget is the bars kept for all symbols and intervals together (24
	// bytes each, or 48 for bars that do not pack: see series), when
	// Options.Keep is 0.
	budget  = 1_500_000
	minKeep = 30
)

// Options tunes a Store.
type Options struct {
	// Keep is how many bars each symbol keeps per interval, the newest. 0
	// means as many as a request may ask for (MaxLimit), or fewer in a
	// universe of more than 60 symbols, so that all of them stay under 1.5
	// million bars (about 36 MB, or 72 MB for prices that are not whole
	// cents), but never fewer than 30.
	Keep int
}

// ring holds at most keep values, the newest: a symbol's bars at one
// interval (series), or its last trades (tape).
type ring[T any] struct {
	buf  []T // oldest first until full; then a ring whose oldest is at head
	head int
}

func (r *ring[T]) last() *T {
	if len(r.buf) == 0 {
		return nil
	}
	if r.head == 0 {
		return &r.buf[len(r.buf)-1]
	}
	return &r.buf[r.head-1]
}

func (r *ring[T]) push(v T, keep int) {
	if len(r.buf) < keep {
		r.buf = append(r.buf, v)
		return
	}
	r.buf[r.head] = v
	r.head = (r.head + 1) % len(r.buf)
}

// tail appends the newest n values to out, oldest first.
func (r *ring[T]) tail(out []T, n int) []T {
	n = min(n, len(r.buf))
	for k := len(r.buf) - n; k < len(r.buf); k++ {
		out = append(out, r.buf[(r.head+k)%len(r.buf)])
	}
	return out
}

// Store holds every symbol's bars and last trades. It is written by the
// one goroutine that publishes the market (on a node fed by a broker, also
// by the one that takes in the morning: see Prepend) and read by any number
// of requests.
type Store struct {
	// Set at construction, then read-only.
	index map[string]int
	names []string // by symbol index
	keep  int

	// Guarded by mu.
	mu      sync.RWMutex
	series  [][len(Intervals)]series // by symbol index
	tapes   []tape                   // by symbol index: the last trades
	morning []bool                   // by symbol index: Prepend has taken its morning in (morning.go)
	id      uint64                   // the newest event folded in
}

// New returns an empty store for symbols.
func New(symbols []string, opts Options) *Store {
	keep := opts.Keep
	if keep <= 0 {
		keep = MaxLimit
		if per := budget / (len(Intervals) * max(1, len(symbols))); per < keep {
			keep = max(minKeep, per)
		}
	}
	s := &Store{index: make(map[string]int, len(symbols)), names: slices.Clone(symbols), keep: keep, series: make([][len(Intervals)]series, len(symbols)),
		tapes: make([]tape, len(symbols)), morning: make([]bool, len(symbols))}
	for i, sym := range symbols {
		s.index[sym] = i
	}
	return s
}

// Keep returns how many bars each symbol keeps per interval.
func (s *Store) Keep() int { return s.keep }

// add folds one trade into every interval of symbol i, and keeps it among
// the symbol's last trades; ts is Unix ms. Callers hold mu. A trade older
// than the newest bar (a clock that stepped back) counts in the newest bar,
// so that bars never go back in time.
func (s *Store) add(i int, ts, price float64, size int64) {
	if !(price > 0) || math.IsInf(price, 0) || math.IsNaN(ts) || math.IsInf(ts, 0) {
		return
	}
	s.addTrade(i, ts, price, size)
	ms := int64(math.Floor(ts))
	c := cents(price)
	for k, iv := range Intervals {
		sr := &s.series[i][k]
		t := ms - ms%iv.Millis
		if ms < 0 && ms%iv.Millis != 0 {
			t -= iv.Millis
		}
		sr.fold(t, price, c, size, s.keep)
	}
}

// Add folds one trade of symbol (price, size shares, at ts Unix ms) into
// its bars, without an id. It reports false for a symbol the store does not
// know.
func (s *Store) Add(symbol string, ts, price float64, size int64) bool {
	i, ok := s.index[symbol]
	if !ok {
		return false
	}
	s.mu.Lock()
	s.add(i, ts, price, size)
	s.mu.Unlock()
	return true
}

// fold records event id (0: none) and, for a trade of a known symbol, folds
// it in, in one step, so that a reader never sees bars and an id that
// disagree.
func (s *Store) fold(id uint64, symbol string, trade bool, ts, price float64, size int64) {
	i, ok := s.index[symbol]
	s.mu.Lock()
	if trade && ok {
		s.add(i, ts, price, size)
	}
	if id > s.id {
		s.id = id
	}
	s.mu.Unlock()
}

// Query returns the newest limit bars (1 to MaxLimit) of symbol at the
// interval named, oldest first, with the id of the newest event folded in.
func (s *Store) Query(symbol, interval string, limit int) (Page, error) {
	i, ok := s.index[symbol]
	if !ok {
		return Page{}, fmt.Errorf("history: unknown symbol %q", symbol)
	}
	k := -1
	for j, iv := range Intervals {
		if iv.Name == interval {
			k = j
		}
	}
	if k < 0 {
		return Page{}, fmt.Errorf("history: interval %q is not one of %s", interval, intervalNames())
	}
	if limit < 1 || limit > MaxLimit {
		return Page{}, fmt.Errorf("history: limit %d: want 1 to %d", limit, MaxLimit)
	}
	p := Page{Symbol: symbol, Interval: interval}
	s.mu.RLock()
	sr := &s.series[i][k]
	p.Bars = sr.tail(make([]Bar, 0, min(limit, sr.len())), limit)
	p.ID = s.id
	s.mu.RUnlock()
	return p, nil
}
