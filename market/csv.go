package market

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// row is one CSV line.
type row struct {
	at       int64 // Unix µs
	sym      int   // index into listings
	price    float64
	size     int64
	bid, ask float64 // 0 when the file has none
}

// CSV columns, by the header names each accepts (case-insensitive).
var csvColumns = map[string][]string{
	"timestamp": {"timestamp", "time", "ts", "datetime", "date"},
	"symbol":    {"symbol", "ticker", "sym"},
	"price":     {"price", "last", "trade_price"},
	"size":      {"size", "qty", "quantity", "volume", "shares"},
	"bid":       {"bid", "bid_price"},
	"ask":       {"ask", "ask_price", "offer"},
}

func (p *Player) readCSV(r io.Reader, symbols string) error {
	keep, err := csvFilter(symbols)
	if err != nil {
		return err
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return errors.New("empty file: want a header line timestamp,symbol,price,size[,bid,ask] and rows")
	}
	if err != nil {
		return err
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		for name, aliases := range csvColumns {
			for _, a := range aliases {
				if h == a {
					if _, dup := col[name]; dup {
						return fmt.Errorf("line 1: two %s columns", name)
					}
					col[name] = i
				}
			}
		}
	}
	for _, need := range []string{"timestamp", "symbol", "price", "size"} {
		if _, ok := col[need]; !ok {
			return fmt.Errorf("line 1: header %q has no %s column: want timestamp,symbol,price,size[,bid,ask]", strings.Join(header, ","), need)
		}
	}
	bi, hasBid := col["bid"]
	ai, hasAsk := col["ask"]
	if hasBid != hasAsk {
		return errors.New("line 1: a bid column needs an ask column and the other way round")
	}
	syms := symbolIndex{idx: map[string]int{}, listings: &p.listings}
	seen := map[string]bool{}
	var last int64
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err // a *csv.ParseError names its line
		}
		line, _ := cr.FieldPos(0)
		bad := func(format string, a ...any) error {
			return fmt.Errorf("line %d: "+format, append([]any{line}, a...)...)
		}
		at, err := parseTime(rec[col["timestamp"]])
		if err != nil {
			return bad("timestamp: %v", err)
		}
		if at < last {
			return bad("timestamp %s is before the previous row's: rows must be in time order", rec[col["timestamp"]])
		}
		last = at
		sym := strings.ToUpper(strings.TrimSpace(rec[col["symbol"]]))
		if err := validSymbol(sym); err != nil {
			return bad("%v", err)
		}
		price, err := parsePositive(rec[col["price"]])
		if err != nil {
			return bad("price: %v", err)
		}
		size, err := parseSize(rec[col["size"]])
		if err != nil {
			return bad("size: %v", err)
		}
		rw := row{at: at, price: price, size: size}
		if hasBid && (strings.TrimSpace(rec[bi]) != "" || strings.TrimSpace(rec[ai]) != "") {
			if rw.bid, err = parsePositive(rec[bi]); err != nil {
				return bad("bid: %v", err)
			}
			if rw.ask, err = parsePositive(rec[ai]); err != nil {
				return bad("ask: %v", err)
			}
			if rw.bid > rw.ask {
				return bad("bid %v is above ask %v", rw.bid, rw.ask)
			}
		}
		seen[sym] = true
		if keep != nil && !keep[sym] {
			continue // Symbols chose not to play it; that is asked for, not silent
		}
		rw.sym = syms.get(sym)
		p.rows = append(p.rows, rw)
	}
	for s := range keep {
		if !seen[s] {
			return configError("Symbols", "symbols: %s is not in the file %s", s, p.path)
		}
	}
	if len(p.rows) == 0 {
		return errors.New("no rows to play")
	}
	return nil
}

// csvFilter parses Config.Symbols for a file: "" keeps all, a list keeps
// those.
func csvFilter(spec string) (map[string]bool, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil
	}
	if _, err := strconv.Atoi(spec); err == nil {
		return nil, configError("Symbols", "symbols %q: a file source takes a list of its symbols, not a count", spec)
	}
	keep := map[string]bool{}
	for _, f := range strings.Split(spec, ",") {
		s := strings.ToUpper(strings.TrimSpace(f))
		if err := validSymbol(s); err != nil {
			return nil, configError("Symbols", "symbols: %w", err)
		}
		keep[s] = true
	}
	return keep, nil
}

// parseTime reads RFC 3339 (with or without fraction) or a Unix time, whose
// unit is told by its size: seconds below 1e11, milliseconds below 1e14,
// microseconds below 1e17, else nanoseconds. Fractions are allowed.
func parseTime(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixMicro(), nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || bad(x) || x <= 0 {
		return 0, fmt.Errorf("%q: want RFC 3339 (2024-03-01T14:30:00.123Z) or Unix seconds or milliseconds", s)
	}
	switch {
	case x < 1e11:
		return int64(math.Round(x * 1e6)), nil
	case x < 1e14:
		return int64(math.Round(x * 1e3)), nil
	case x < 1e17:
		return int64(x), nil
	}
	return int64(x / 1e3), nil
}

func parsePositive(s string) (float64, error) {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || bad(x) || x <= 0 {
		return 0, fmt.Errorf("%q: want a positive number", s)
	}
	return x, nil
}

func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return n, nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || bad(x) || x < 0 || x != math.Trunc(x) || x > 1e15 {
		return 0, fmt.Errorf("%q: want a whole number of shares, 0 or more", s)
	}
	return int64(x), nil
}

// csvStepper turns a CSV's rows into the market's events: each row a quote,
// with scores and market summaries made by the simulation's own code on the
// same cadence, on the file's clock.
type csvStepper struct {
	rows    []row
	i       int
	first   []int // the row each symbol's opening quote was taken from
	books   []book
	scorers []scorer
	sum     *summary
	intro   int
	t       int64

	nextScore, nextMarket, scoreK int64
	t0                            int64
	lastRow                       int64 // time of the last row played
	ended                         bool

	sc Score
	mk Market
}

func newCSVStepper(p *Player) *csvStepper {
	n := len(p.listings)
	c := &csvStepper{
		rows:    p.rows,
		first:   make([]int, n),
		books:   make([]book, n),
		scorers: make([]scorer, n),
		sum:     newSummary(p.listings),
		t0:      p.rows[0].at,
		t:       p.rows[0].at,
	}
	for i := range c.first {
		c.first[i] = -1
	}
	for i, r := range p.rows {
		if c.first[r.sym] < 0 {
			c.first[r.sym] = i
		}
	}
	for i, l := range p.listings {
		c.books[i].q.Symbol = l.Symbol.Symbol
	}
	c.nextScore = staggered(c.t0, 1, int64(n))
	c.scoreK = 1
	c.nextMarket = c.t0 + marketEvery
	c.lastRow = c.t0
	return c
}

// skipTo moves the score and market schedules to the first of their times at
// or after t, keeping their phase.
func (c *csvStepper) skipTo(t int64) {
	n := int64(len(c.books))
	d := t - c.t0
	k := d / scoreEvery * n
	k += ((d%scoreEvery)*n + scoreEvery - 1) / scoreEvery
	c.scoreK = max(c.scoreK, k)
	c.nextScore = staggered(c.t0, c.scoreK, n)
	if c.nextMarket < t {
		c.nextMarket += (t - c.nextMarket + marketEvery - 1) / marketEvery * marketEvery
	}
}

// staggered is the time of the k-th score of n symbols that started at t0:
// each symbol every scoreEvery, the symbols spread evenly. It is written not
// to overflow for years of µs.
func staggered(t0, k, n int64) int64 {
	return t0 + k/n*scoreEvery + k%n*scoreEvery/n
}

// quote applies row r to its book. Without bid and ask in the file, the
// quote gets one a cent (or 1 basis point) either side of the price.
func (c *csvStepper) quote(r row) *Quote {
	b := &c.books[r.sym]
	b.setPrice(r.price, r.size)
	if r.bid > 0 {
		b.q.Bid, b.q.Ask = r.bid, r.ask
	} else {
		half := math.Max(0.01, math.Ceil(r.price*1e-4*100)/100)
		b.q.Bid = round(r.price-half, 4)
		b.q.Ask = round(r.price+half, 4)
	}
	b.q.TS = TS(r.at)
	return &b.q
}

func (c *csvStepper) score(i int) *Score {
	b := &c.books[i]
	c.scorers[i].sample(b.q.Price, b.q.Volume)
	c.sc = Score{Symbol: b.q.Symbol, TS: TS(c.t)}
	c.scorers[i].fill(&c.sc)
	return &c.sc
}

func (c *csvStepper) market() *Market {
	c.sum.fill(&c.mk, c.books)
	c.mk.Session = "open"
	c.mk.TS = TS(c.t)
	return &c.mk
}

func (c *csvStepper) next() (int64, string, string, any, bool) {
	n := len(c.books)
	if c.intro < 2*n+1 {
		// The opening picture: each symbol's first row as its quote, a
		// score each, a summary; those rows are not played again.
		k := c.intro
		c.intro++
		switch {
		case k < n:
			q := c.quote(c.rows[c.first[k]])
			q.TS = TS(c.t)
			return c.t, EventQuote, q.Symbol, q, true
		case k < 2*n:
			return c.t, EventScore, c.books[k-n].q.Symbol, c.score(k - n), true
		default:
			return c.t, EventMarket, "", c.market(), true
		}
	}
	for {
		for c.i < len(c.rows) && c.first[c.rows[c.i].sym] == c.i {
			c.i++
		}
		if c.i >= len(c.rows) {
			if c.ended {
				return 0, "", "", nil, false
			}
			c.ended = true // a last summary, so the end state is complete
			return c.t, EventMarket, "", c.market(), true
		}
		r := c.rows[c.i]
		// In a gap of the data (a quiet symbol set, a night, a weekend) the
		// scores and summaries go quiet too once they have caught up with
		// the last row, rather than repeat themselves every second.
		if idle := c.lastRow + scoreEvery; c.nextScore > idle && c.nextMarket > idle && r.at > idle {
			c.skipTo(r.at)
		}
		switch t := min(r.at, c.nextScore, c.nextMarket); t {
		case r.at:
			c.i++
			c.t = t
			c.lastRow = t
			q := c.quote(r)
			return t, EventQuote, q.Symbol, q, true
		case c.nextScore:
			c.t = t
			k := int(c.scoreK % int64(n))
			c.scoreK++
			c.nextScore = staggered(c.t0, c.scoreK, int64(n))
			return t, EventScore, c.books[k].q.Symbol, c.score(k), true
		default:
			c.t = t
			c.nextMarket += marketEvery
			return t, EventMarket, "", c.market(), true
		}
	}
}
