package market

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// The simulation's clock runs in integer microseconds; every schedule below
// is in those units.
const (
	second      = int64(1_000_000)
	minute      = 60 * second
	factorStep  = second                      // the common factors move once a simulated second
	marketEvery = second                      // a market event a second
	tradingDay  = 6*3600*second + 1800*second // 6.5 hours: the U shape's period in continuous mode
	haltFor     = 2 * minute                  // how long a halt lasts
	haltWindow  = 5                           // minutes: a halt looks back this far
	warmup      = 15 * minute                 // history simulated before the first event, so scores start warm
	never       = math.MaxInt64
	yearSeconds = 252 * 6.5 * 3600 // trading seconds in a year, to turn annual vols into per-second ones
)

// Model parameters. Per-second volatilities come from annual ones; the
// vol-of-vol and half-lives are chosen so that calm spells and storms
// alternate within minutes (visible at the default rate), which is faster
// than in real markets, where clusters last days.
var (
	marketSigma = 0.16 / math.Sqrt(yearSeconds)               // the market factor: 16 % a year
	sectorSigma = 0.10 / math.Sqrt(yearSeconds)               // each sector's own factor: 10 % a year
	marketPhi   = math.Exp(-math.Ln2 / (10 * 60))             // market log-vol half-life: 10 minutes, per 1 s step
	sqrtMarketV = volOfVol * math.Sqrt(1-marketPhi*marketPhi) // its innovation sd
)

const (
	volOfVol      = 0.5                         // stationary sd of the market's log-volatility
	ownVolOfVol   = 0.35                        // stationary sd of a symbol's own log-volatility
	ownHalfLife   = 20 * 60.0                   // s: a symbol's own log-vol half-life
	newsStorm     = 2.5                         // a news jump adds this to the symbol's log-volatility (×12) ...
	stormHalfLife = 300.0                       // s: ... which decays with this half-life: a storm of a few minutes
	newsEvery     = 40.0                        // s between news jumps market-wide, for the default universe size
	newsFloor     = 0.005                       // every news jump moves at least 0.5 % ...
	newsMean      = 0.015                       // ... plus an exponential part with this mean
	shockProb     = 1.0 / 23400                 // per second: a market-wide shock (about one a day) ...
	shockSigma    = 0.003                       // ... of this size (sd of the log move)
	defaultUniv   = float64(len(universeTable)) // news rate is per symbol, scaled to this
	uShapeA       = 0.75                        // intraday activity: a + b·(2τ−1)², mean 1:
	uShapeB       = 0.75                        // 1.5× at the open and close, 0.75× at midday
	dollarsTrade  = 20000.0                     // median trade value, $
)

// sym is one simulated symbol: its static parameters, its latent price and
// its trading day.
type sym struct {
	l      listing
	sector int

	// Static parameters.
	idio      float64 // own volatility per √second at normal vol
	spreadBps float64 // quoted spread at normal vol, basis points of price
	sizeMed   float64 // median trade size, shares
	newsScale float64 // how strongly news moves it: 0.3 for the largest, 1.5 for the smallest

	// The latent (efficient) log price and what it was advanced with.
	logMid float64
	lastT  int64
	lastM  float64 // market factor at lastT
	lastS  float64 // sector factor at lastT
	lastV  float64 // integrated variance clock at lastT
	x      float64 // own log-volatility state, stationary mean 0
	storm  float64 // news storm: extra log-volatility, decaying
	drift  float64 // log drift per second; only the test hook sets it

	haltUntil int64
	haltWhy   string // the reason of the current halt
	// The halt window: high and low trade price (cents) per minute, a ring
	// indexed by minute number mod haltWindow; lo == 0 marks an empty minute.
	winMin int64
	winHi  [haltWindow]int64
	winLo  [haltWindow]int64

	sc scorer
}

// kinds of events a sim can have pending.
const (
	pendHalt = iota
	pendResume
	pendSession
	pendMarket
)

type pending struct {
	kind int
	i    int    // symbol index
	txt  string // status reason
	st   string // status state
}

// session is a trading session that cycles open, closed, open...; the zero
// value is continuous trading.
type session struct {
	open, closed int64 // µs
}

func (s session) continuous() bool { return s.open == 0 }

// sim is the deterministic market model: a seed and a simulated clock decide
// every event. It has no goroutines and reads no clock; next advances the
// clock to the next event and returns it.
type sim struct {
	rng     *rand.Rand
	syms    []sym
	books   []book // each symbol's trading day, by the same index as syms
	sum     *summary
	alias   alias
	rate    float64 // quote events per second
	haltPct float64 // fraction, e.g. 0.05
	sess    session

	t        int64 // the simulated clock, Unix µs
	t0       int64 // the first event's time
	dayStart int64 // when the trading day opened (in continuous mode, a quarter of a day before the first event unless the morning is played)
	open     bool

	// The morning (morning.go): while t < live the model replays the day
	// from its open at no more than morningRate quotes a second, and next
	// returns nothing at or after until. Both are 0 and never once live.
	live  int64
	until int64

	// Schedules: the next time each kind of thing happens.
	nextQuote, nextFactor, nextMarket, nextNews, nextSession, nextResume int64
	nextScore                                                            int64
	scoreK                                                               int64 // scores emitted so far, for the stagger

	// The common factors.
	xm      float64   // market log-vol state
	varMult float64   // the market's variance multiplier, mean 1
	M       float64   // market factor (cumulative log return)
	S       []float64 // sector factors
	V       float64   // integrated variance clock at tFactor
	tFactor int64

	// The opening picture: events not yet emitted of it.
	intro int

	queue []pending

	// Scratch event data, reused: a Sink must not keep it.
	sc Score
	mk Market
	st Status
}

// newSim builds a model whose first event is at start (Unix µs). In
// continuous mode its day opened a quarter of a day before, unseen.
func newSim(ls []listing, seed int64, rate, haltPct float64, sess session, start int64) *sim {
	open := start
	if sess.continuous() {
		open -= tradingDay / 4
	}
	return newSimFrom(ls, seed, rate, haltPct, sess, start, open)
}

// newSimFrom builds a model whose first event is at start and whose trading
// day opened at open (at or before start).
func newSimFrom(ls []listing, seed int64, rate, haltPct float64, sess session, start, open int64) *sim {
	m := &sim{
		rng:     rand.New(rand.NewPCG(uint64(seed), 0x6d61726b6574)),
		sum:     newSummary(ls),
		rate:    rate,
		haltPct: haltPct,
		sess:    sess,
		t0:      start,
		open:    true,
	}
	m.S = make([]float64, len(m.sum.sectors))
	m.syms = make([]sym, len(ls))
	m.books = make([]book, len(ls))
	liq := make([]float64, len(ls))
	for i, l := range ls {
		s := &m.syms[i]
		s.l = l
		s.sector = m.sum.sector[i]
		// Own volatility: 12 % a year plus more for high-beta and small names.
		small := math.Max(0, math.Min(1, math.Log10(1000/l.cap)/2))
		s.idio = (0.10 + 0.08*l.Beta + 0.15*small) / math.Sqrt(yearSeconds)
		// News moves small names more than giants.
		s.newsScale = 0.3 + 1.2*small
		s.spreadBps = math.Max(0.5, math.Min(40, 3*math.Sqrt(1000/l.cap)))
		// Liquid (large) names trade more often.
		liq[i] = math.Sqrt(l.cap)
		// Seeded price level and an opening gap from the previous close.
		prev := math.Round(l.price*math.Exp(0.1*m.rng.NormFloat64())*100) / 100
		m.books[i].q = Quote{Symbol: l.Symbol.Symbol, PrevClose: prev}
		s.logMid = math.Log(prev) + 0.004*m.rng.NormFloat64()
		s.x = ownVolOfVol * m.rng.NormFloat64()
		s.sizeMed = math.Max(1, dollarsTrade/prev)
	}
	m.alias = newAlias(liq)
	m.xm = volOfVol * m.rng.NormFloat64()
	m.varMult = math.Exp(2*m.xm - 2*volOfVol*volOfVol)

	// Warm up: simulate history before start without emitting anything, so
	// the first scores already have moving averages and a volatility.
	m.t = start - warmup
	m.tFactor = m.t
	for i := range m.syms {
		s := &m.syms[i]
		s.lastT = m.t
		perSec := rate * liq[i] / m.alias.total
		s.sc.primeVolume(perSec * samplePeriod * s.sizeMed)
	}
	for t := start - warmup; t < start; t += scoreEvery {
		for m.tFactor+factorStep <= t {
			m.t = m.tFactor + factorStep
			m.stepFactors()
		}
		m.t = t
		for i := range m.syms {
			s := &m.syms[i]
			m.advance(s)
			s.sc.sample(math.Round(math.Exp(s.logMid)*100)/100, 0)
		}
	}
	for i := range m.syms {
		s := &m.syms[i]
		s.sc.primeVolume(rate * liq[i] / m.alias.total * samplePeriod * s.sizeMed)
		s.sc.lastVol = 0
	}
	for m.tFactor+factorStep <= start {
		m.t = m.tFactor + factorStep
		m.stepFactors()
	}
	m.t = start
	m.dayStart = open
	m.until = never
	m.nextFactor = m.tFactor + factorStep
	m.nextMarket = start + marketEvery
	m.nextScore = staggered(start, 1, int64(len(m.syms)))
	m.scoreK = 1
	m.nextResume = never
	m.nextSession = never
	if !sess.continuous() {
		m.nextSession = start + sess.open
	}
	m.nextNews = start + m.expDelay(m.newsRate())
	m.nextQuote = start + m.expDelay(m.quoteRate())
	return m
}

// newsRate is news jumps per second market-wide: newsEvery for the default
// universe, proportionally more for more symbols.
func (m *sim) newsRate() float64 {
	return float64(len(m.syms)) / defaultUniv / newsEvery
}

// quoteRate is the current quote arrival rate: the configured rate shaped by
// the time of day (the U shape) and by the market's volatility (volume bursts
// in storms). Both factors average about 1.
func (m *sim) quoteRate() float64 {
	day := tradingDay
	if !m.sess.continuous() {
		day = m.sess.open
	}
	// Continuous trading starts at a quarter of the day (late morning),
	// where activity is about average, so Config.Rate is what a user sees
	// first.
	el := m.t - m.dayStart
	tau := float64(el%day) / float64(day)
	u := uShapeA + uShapeB*(2*tau-1)*(2*tau-1)
	act := math.Exp(m.xm - volOfVol*volOfVol/2)
	return m.morningRate() * u * math.Min(3, act)
}

// expDelay draws an exponential waiting time (µs, at least 1) for rate per second.
func (m *sim) expDelay(rate float64) int64 {
	return 1 + int64(m.rng.ExpFloat64()/rate*1e6)
}

// stepFactors moves the market and sector factors one step to m.t.
func (m *sim) stepFactors() {
	m.V += m.varMult * float64(m.t-m.tFactor) / 1e6
	m.tFactor = m.t
	m.xm = marketPhi*m.xm + sqrtMarketV*m.rng.NormFloat64()
	m.varMult = math.Exp(2*m.xm - 2*volOfVol*volOfVol)
	sd := math.Sqrt(m.varMult)
	m.M += marketSigma * sd * m.rng.NormFloat64()
	if m.rng.Float64() < shockProb {
		m.M += shockSigma * m.rng.NormFloat64()
	}
	for k := range m.S {
		m.S[k] += sectorSigma * sd * m.rng.NormFloat64()
	}
}

// varClock is the integrated variance multiplier at m.t: seconds of "normal"
// market variance elapsed. Idiosyncratic noise scales with it, so storms hit
// every name.
func (m *sim) varClock() float64 {
	return m.V + m.varMult*float64(m.t-m.tFactor)/1e6
}

// advance brings s's latent price from s.lastT to m.t: the moves of its
// factors since then plus its own noise for the elapsed variance. Symbols are
// advanced lazily, only when they trade or are sampled, so the cost is per
// event, not per symbol per step.
func (m *sim) advance(s *sym) {
	dt := float64(m.t-s.lastT) / 1e6
	if dt <= 0 {
		return
	}
	v := m.varClock()
	phi := math.Exp(-math.Ln2 / ownHalfLife * dt)
	s.x = phi*s.x + ownVolOfVol*math.Sqrt(1-phi*phi)*m.rng.NormFloat64()
	// The storm decays over the interval; its mid-point value stands for it.
	decay := math.Exp(-math.Ln2 / stormHalfLife * dt)
	mid := s.storm * math.Sqrt(decay)
	s.storm *= decay
	own := s.idio * math.Exp(s.x-ownVolOfVol*ownVolOfVol+mid)
	dv := v - s.lastV
	s.logMid += s.l.Beta*(m.M-s.lastM) + (m.S[s.sector] - s.lastS) + own*math.Sqrt(dv)*m.rng.NormFloat64() + s.drift*dt
	if s.logMid < math.Log(0.05) {
		s.logMid = math.Log(0.05) // a floor far below any real level keeps prices positive
	}
	s.lastT, s.lastM, s.lastS, s.lastV = m.t, m.M, m.S[s.sector], v
}

// volRatio is s's current volatility relative to its normal level.
func (m *sim) volRatio(s *sym) float64 {
	return math.Sqrt(m.varMult) * math.Exp(s.x-ownVolOfVol*ownVolOfVol+s.storm)
}

// trade makes symbol i trade at m.t and returns whether it must halt.
func (m *sim) trade(i int) (halt bool, move float64) {
	s, b := &m.syms[i], &m.books[i]
	m.advance(s)
	vr := m.volRatio(s)
	mid := math.Exp(s.logMid) * 100 // cents
	half := mid * s.spreadBps * 1e-4 / 2 * (0.5 + 0.5*math.Min(vr, 6))
	bid := int64(math.Floor(mid - half))
	ask := int64(math.Ceil(mid + half))
	bid = max(bid, 1)
	if ask-bid < 2 {
		ask = bid + 2
	}
	p := int64(math.Round(mid + (m.rng.Float64()-0.5)*half))
	p = min(max(p, bid+1), ask-1)

	size := s.sizeMed * math.Exp(0.9*m.rng.NormFloat64()) * math.Sqrt(math.Min(vr, 9)) * m.morningSize()
	sz := int64(size)
	if sz >= 100 {
		sz = (sz + 50) / 100 * 100
	}
	sz = max(sz, 1)

	b.q.Bid = float64(bid) / 100
	b.q.Ask = float64(ask) / 100
	b.setPrice(float64(p)/100, sz)
	b.q.TS = TS(m.t)
	return m.checkHalt(s, p)
}

// checkHalt adds trade price p (cents) to s's window and reports whether it
// moved more than haltPct from the window's low or high.
func (m *sim) checkHalt(s *sym, p int64) (bool, float64) {
	mn := m.t / minute
	if mn != s.winMin {
		for k := s.winMin + 1; k <= mn && k <= s.winMin+haltWindow; k++ {
			s.winHi[k%haltWindow], s.winLo[k%haltWindow] = 0, 0
		}
		s.winMin = mn
	}
	var hi, lo int64
	for k := range haltWindow {
		if s.winLo[k] == 0 {
			continue
		}
		hi = max(hi, s.winHi[k])
		if lo == 0 || s.winLo[k] < lo {
			lo = s.winLo[k]
		}
	}
	c := mn % haltWindow
	if s.winLo[c] == 0 {
		s.winHi[c], s.winLo[c] = p, p
	} else {
		s.winHi[c] = max(s.winHi[c], p)
		s.winLo[c] = min(s.winLo[c], p)
	}
	if lo == 0 || m.haltPct <= 0 {
		return false, 0
	}
	fp := float64(p)
	if fp >= float64(lo)*(1+m.haltPct) {
		return true, fp/float64(lo) - 1
	}
	if fp <= float64(hi)*(1-m.haltPct) {
		return true, fp/float64(hi) - 1
	}
	return false, 0
}

// news applies a news jump to a random symbol: a move of at least newsFloor,
// up or down, and a burst of its own volatility.
func (m *sim) news() {
	i := m.rng.IntN(len(m.syms))
	m.jump(i, m.newsMove()*m.syms[i].newsScale)
}

func (m *sim) newsMove() float64 {
	j := newsFloor + newsMean*m.rng.ExpFloat64()
	if m.rng.IntN(2) == 0 {
		j = -j
	}
	return j
}

// jump moves symbol i's latent price by the log return j now.
func (m *sim) jump(i int, j float64) {
	s := &m.syms[i]
	m.advance(s)
	s.logMid += j
	s.storm += newsStorm * s.newsScale
}

// next advances the clock to the next event and returns it. The data points
// into m and is valid until the next call.
func (m *sim) next() (at int64, name, symbol string, data any, ok bool) {
	if m.intro < 2*len(m.syms)+1 {
		return m.introEvent()
	}
	for {
		if len(m.queue) > 0 {
			p := m.queue[0]
			m.queue = m.queue[1:]
			return m.pendingEvent(p)
		}
		t := min(m.nextQuote, m.nextFactor, m.nextMarket, m.nextNews, m.nextSession, m.nextResume, m.nextScore)
		if t >= m.until {
			return 0, "", "", nil, false
		}
		m.t = t
		switch t {
		case m.nextFactor:
			m.nextFactor += factorStep
			m.stepFactors()
		case m.nextResume:
			m.resume()
		case m.nextSession:
			m.toggleSession()
		case m.nextNews:
			m.nextNews += m.expDelay(m.newsRate())
			m.news()
		case m.nextMarket:
			m.nextMarket += marketEvery
			if m.open && m.t >= m.live { // the morning needs no summaries
				return t, EventMarket, "", m.market(), true
			}
		case m.nextScore:
			n := int64(len(m.syms))
			i := int(m.scoreK % n)
			m.scoreK++
			m.nextScore = staggered(m.t0, m.scoreK, n)
			if m.t < m.live { // the morning only warms the scores up
				m.syms[i].sc.sample(m.books[i].q.Price, m.books[i].q.Volume)
				continue
			}
			if m.open {
				return t, EventScore, m.books[i].q.Symbol, m.score(i), true
			}
		case m.nextQuote:
			m.nextQuote += m.expDelay(m.quoteRate())
			i := m.alias.pick(m.rng)
			b := &m.books[i]
			if b.halted {
				continue
			}
			halt, move := m.trade(i)
			if halt {
				m.halt(i, move)
			}
			return t, EventQuote, b.q.Symbol, &b.q, true
		}
	}
}

// introEvent returns the opening picture: a quote and a score for every
// symbol, then a market event.
func (m *sim) introEvent() (int64, string, string, any, bool) {
	n := len(m.syms)
	k := m.intro
	m.intro++
	switch {
	case k < n:
		if !m.books[k].halted { // halted in the morning: its last quote stands
			m.trade(k)
		}
		return m.t, EventQuote, m.books[k].q.Symbol, &m.books[k].q, true
	case k < 2*n:
		return m.t, EventScore, m.books[k-n].q.Symbol, m.score(k - n), true
	default:
		if !m.sess.continuous() {
			m.queue = append(m.queue, pending{kind: pendSession, st: "open", txt: "session opened"})
		}
		for i := range m.books {
			if m.books[i].halted { // since the morning
				m.queue = append(m.queue, pending{kind: pendHalt, i: i, st: "halted", txt: m.syms[i].haltWhy})
			}
		}
		return m.t, EventMarket, "", m.market(), true
	}
}

func (m *sim) score(i int) *Score {
	s, b := &m.syms[i], &m.books[i]
	s.sc.sample(b.q.Price, b.q.Volume)
	m.sc = Score{Symbol: b.q.Symbol, TS: TS(m.t)}
	s.sc.fill(&m.sc)
	return &m.sc
}

func (m *sim) market() *Market {
	m.sum.fill(&m.mk, m.books)
	m.mk.Session = "open"
	if !m.open {
		m.mk.Session = "closed"
	}
	m.mk.TS = TS(m.t)
	return &m.mk
}

// halt halts symbol i after a move; the status follows its quote.
func (m *sim) halt(i int, move float64) {
	s := &m.syms[i]
	m.books[i].halted = true
	s.haltUntil = m.t + haltFor
	s.haltWhy = fmt.Sprintf("volatility pause: moved %+.1f%% within %d minutes", move*100, haltWindow)
	m.nextResume = min(m.nextResume, s.haltUntil)
	m.queue = append(m.queue, pending{kind: pendHalt, i: i, st: "halted", txt: s.haltWhy})
}

// resume lifts every halt due now.
func (m *sim) resume() {
	m.nextResume = never
	for i := range m.syms {
		s := &m.syms[i]
		if !m.books[i].halted {
			continue
		}
		if s.haltUntil <= m.t {
			m.books[i].halted = false
			s.winHi, s.winLo = [haltWindow]int64{}, [haltWindow]int64{}
			m.queue = append(m.queue, pending{kind: pendResume, i: i, st: "trading",
				txt: fmt.Sprintf("halt lifted after %s", fmtDur(haltFor))})
			continue
		}
		m.nextResume = min(m.nextResume, s.haltUntil)
	}
}

// toggleSession opens or closes the session. Each opening starts a new
// trading day: last prices become previous closes, the index rebases.
func (m *sim) toggleSession() {
	if m.open {
		m.open = false
		m.nextSession = m.t + m.sess.closed
		m.nextQuote = never
		m.queue = append(m.queue, pending{kind: pendSession, st: "closed", txt: "session closed"},
			pending{kind: pendMarket})
		return
	}
	m.open = true
	m.nextSession = m.t + m.sess.open
	m.dayStart = m.t
	m.sum.newDay(m.books)
	for i := range m.books {
		m.books[i].newDay()
	}
	m.nextQuote = m.t + m.expDelay(m.quoteRate())
	m.queue = append(m.queue, pending{kind: pendSession, st: "open", txt: "session opened"})
}

func (m *sim) pendingEvent(p pending) (int64, string, string, any, bool) {
	switch p.kind {
	case pendMarket:
		return m.t, EventMarket, "", m.market(), true
	case pendSession:
		m.st = Status{State: p.st, Reason: p.txt, TS: TS(m.t)}
		return m.t, EventStatus, "", &m.st, true
	default:
		s := m.books[p.i].q.Symbol
		m.st = Status{Symbol: s, State: p.st, Reason: p.txt, TS: TS(m.t)}
		return m.t, EventStatus, s, &m.st, true
	}
}

// fmtDur formats a µs duration as the session flag does: 90s, 2m, 1h30m.
func fmtDur(d int64) string {
	s := d / second
	switch {
	case s%3600 == 0:
		return fmt.Sprintf("%dh", s/3600)
	case s >= 3600:
		return fmt.Sprintf("%dh%dm", s/3600, s%3600/60)
	case s%60 == 0:
		return fmt.Sprintf("%dm", s/60)
	default:
		return fmt.Sprintf("%ds", s)
	}
}

// alias is Vose's alias table: it picks index i with probability w[i]/Σw in
// constant time, however many symbols there are.
type alias struct {
	prob  []float64
	other []int
	total float64
}

func newAlias(w []float64) alias {
	n := len(w)
	a := alias{prob: make([]float64, n), other: make([]int, n)}
	for _, x := range w {
		a.total += x
	}
	scaled := make([]float64, n)
	var small, large []int
	for i, x := range w {
		scaled[i] = x * float64(n) / a.total
		if scaled[i] < 1 {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		a.prob[s], a.other[s] = scaled[s], l
		scaled[l] += scaled[s] - 1
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range large {
		a.prob[i] = 1
	}
	for _, i := range small {
		a.prob[i] = 1
	}
	return a
}

func (a *alias) pick(r *rand.Rand) int {
	i := r.IntN(len(a.prob))
	if r.Float64() < a.prob[i] {
		return i
	}
	return a.other[i]
}
