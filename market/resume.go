package market

import (
	"context"
	"math"
	"time"
)

// State is a market as another node left it: what a snapshot shows (the
// newest quote and score of each symbol, the symbols' statuses, the
// session, the summary) and how many events its source had published. A
// node that takes the market over continues from it, so that its
// clients see one market, not a new one.
type State struct {
	Quotes   []Quote
	Scores   []Score
	Statuses []Status
	Session  *Status
	Market   *Market
	// Published is how many events the market's source had published
	// before: a file player continues with its event of that index.
	Published uint64
}

// Resumer is a Source that can continue a market from a State instead of
// starting a new one. [Sim] and [Player] are Resumers.
type Resumer interface {
	Source
	// Resume publishes to sink, as Run does, the market that follows st.
	// It sends no opening picture: whoever held st has it already.
	Resume(ctx context.Context, sink Sink, st *State) error
}

var (
	_ Resumer = (*Sim)(nil)
	_ Resumer = (*Player)(nil)
)

// Resume continues the simulated market from st: each symbol's price,
// bid and ask, the day's open, high, low, previous close and volume, its
// score's moving averages (as far as the score's components tell them),
// its halt and how long that has left, the session and how long that has
// left, and the index's base. The latent parts of the model (volatility
// states, the market's factors) start afresh from the seed.
func (s *Sim) Resume(ctx context.Context, sink Sink, st *State) error {
	now := s.cfg.Now
	if now == nil {
		now = time.Now
	}
	start := now().UnixMicro()
	if s.cfg.Speed == 0 {
		// Unpaced, the market keeps its own clock: go on from its newest
		// event.
		start = st.newest() + 1
	}
	// No morning: the day so far is st's.
	m := newSim(s.listings, s.cfg.Seed, s.cfg.Rate, haltFraction(s.cfg.HaltPct), s.session, start)
	m.restore(st, func(ts float64) int64 {
		d := start - int64(math.Round(ts*1000))
		if s.cfg.Speed > 0 {
			d = int64(float64(d) * s.cfg.Speed) // wall time to the market's time
		}
		return max(d, 0)
	})
	return drive(ctx, sink, m, s.cfg.Speed, now)
}

// newest returns the time of st's newest event, in Unix µs.
func (st *State) newest() int64 {
	var ts float64
	for i := range st.Quotes {
		ts = max(ts, st.Quotes[i].TS)
	}
	for i := range st.Scores {
		ts = max(ts, st.Scores[i].TS)
	}
	for i := range st.Statuses {
		ts = max(ts, st.Statuses[i].TS)
	}
	if st.Session != nil {
		ts = max(ts, st.Session.TS)
	}
	if st.Market != nil {
		ts = max(ts, st.Market.TS)
	}
	return int64(math.Round(ts * 1000))
}

// restore sets a fresh model's state from st; age tells how long ago (in
// the market's µs) an event stamped ts was.
func (m *sim) restore(st *State, age func(ts float64) int64) {
	m.intro = 2*len(m.syms) + 1 // no opening picture
	index := make(map[string]int, len(m.books))
	for i := range m.books {
		index[m.books[i].q.Symbol] = i
	}
	for _, q := range st.Quotes {
		i, ok := index[q.Symbol]
		if !ok || !(q.Price > 0) {
			continue
		}
		s := &m.syms[i]
		m.books[i].q = q
		mid := q.Price
		if q.Bid > 0 && q.Ask > q.Bid {
			mid = (q.Bid + q.Ask) / 2
		}
		s.logMid = math.Log(mid)
		s.sizeMed = math.Max(1, dollarsTrade/q.Price)
	}
	for _, sc := range st.Scores {
		i, ok := index[sc.Symbol]
		if !ok {
			continue
		}
		s, q := &m.syms[i], &m.books[i].q
		perSec := m.rate * math.Sqrt(s.l.cap) / m.alias.total
		s.sc.resume(&sc, q.Price, q.Volume, perSec*samplePeriod*s.sizeMed)
	}
	for _, stt := range st.Statuses {
		i, ok := index[stt.Symbol]
		if !ok || stt.State != "halted" {
			continue
		}
		m.books[i].halted = true
		m.syms[i].haltUntil = m.t + max(1, haltFor-age(stt.TS))
		m.nextResume = min(m.nextResume, m.syms[i].haltUntil)
	}
	if mk := st.Market; mk != nil && mk.Index > 0 {
		m.sum.base = mk.Index - mk.Change
	}
	if m.sess.continuous() {
		return
	}
	switch ss := st.Session; {
	case ss == nil:
		// The market had no session: this one opens its first.
		m.queue = append(m.queue, pending{kind: pendSession, st: "open", txt: "session opened"})
	case ss.State == "closed":
		m.open = false
		m.nextQuote = never
		m.nextSession = m.t + max(1, m.sess.closed-age(ss.TS))
	default:
		a := age(ss.TS)
		m.dayStart = m.t - a
		m.nextSession = m.t + max(1, m.sess.open-a)
	}
}

// resume sets the scorer's averages so that its next scores continue sc,
// the symbol's newest score, at price and the day's volume so far. The
// averages come back from the score's components: momentum gives the
// slow average against the last price, volatility the mean squared
// return, the RSI how gains and losses split the mean absolute return,
// the surge the fast volume average against the usual one.
func (c *scorer) resume(sc *Score, price float64, cumVol int64, usual float64) {
	if !(price > 0) {
		return
	}
	c.n = 3 // warm: past the first samples' special cases
	c.last, c.lastVol = price, cumVol
	c.emaF = price
	c.emaS = price / (1 + sc.Momentum/100)
	c.rv = math.Pow(sc.Volatility/100, 2) / samplesPerYear
	absR := math.Sqrt(c.rv * 2 / math.Pi) // E|r| of a normal return
	c.up = sc.RSI / 100 * absR
	c.down = absR - c.up
	c.volS = usual
	c.volF = sc.VolumeSurge * usual
}

// Resume continues the file from event st.Published: the events before
// it are read again, unpublished, so that the scores and summaries that
// follow are those of a player that never stopped.
func (p *Player) Resume(ctx context.Context, sink Sink, st *State) error {
	step := p.stepper()
	for i := uint64(0); i < st.Published; i++ {
		if i%4096 == 0 && ctx.Err() != nil {
			return nil
		}
		if _, _, _, _, ok := step.next(); !ok {
			return nil // the file had been played to its end
		}
	}
	return drive(ctx, sink, step, p.speed, p.now)
}
