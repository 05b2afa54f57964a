package market

// The morning: a simulated market goes live with the day so far already
// traded. At start-up the model runs, as fast as it can and the same for the
// same seed, from the day's open to the moment it goes live; the trades it
// makes set each symbol's open, high, low and volume, and a Backfiller sink
// receives them, so that a chart can open on the day's history. None of it
// is published: those events have no ids and are not on the stream.

// morningRate bounds the morning's quotes per second for the whole market.
// A faster -rate replays the morning with fewer, larger trades (the same
// volume), so that start-up costs the same at any -rate: about 60,000
// trades, a tenth of a second. That is still a dozen trades per symbol per
// minute in the default universe, plenty for minute bars.
const morningRate = 10.0

// Backfiller is a Sink that also takes the events a source made before it
// went live: the simulation's morning, its quotes and statuses (it makes no
// scores or summaries then). They come before any Publish, in order, and
// carry no id; data must not be kept past the call.
type Backfiller interface {
	Sink
	Backfill(name, symbol string, data any)
}

// morningRate is the configured rate, or the morning's bound before live.
func (m *sim) morningRate() float64 {
	if m.t < m.live && m.rate > morningRate {
		return morningRate
	}
	return m.rate
}

// morningSize scales a morning trade up by as much as the morning thinned them.
func (m *sim) morningSize() float64 {
	if m.t < m.live && m.rate > morningRate {
		return m.rate / morningRate
	}
	return 1
}

// newSimAfterMorning builds a model that goes live at start (Unix µs), its
// first event the opening picture, with the morning from the day's open (a
// quarter of a trading day earlier) already traded. Each event of the
// morning goes to early when it is not nil. A session cycle has no morning:
// its day opens when it starts.
func newSimAfterMorning(ls []listing, seed int64, rate, haltPct float64, sess session, start int64, early func(name, symbol string, data any)) *sim {
	if !sess.continuous() {
		return newSim(ls, seed, rate, haltPct, sess, start)
	}
	open := start - tradingDay/4
	m := newSimFrom(ls, seed, rate, haltPct, sess, open, open)
	m.live, m.until = start, start
	m.intro = 2*len(m.syms) + 1 // the day opens on trades, not on a picture
	for {
		_, name, symbol, data, ok := m.next()
		if !ok {
			break
		}
		if early != nil {
			early(name, symbol, data)
		}
	}
	// Go live: the common factors catch up to start, then the opening picture.
	for m.nextFactor <= start {
		m.t = m.nextFactor
		m.nextFactor += factorStep
		m.stepFactors()
	}
	m.t = start
	// What the morning left due at the very moment of going live follows
	// the opening picture, as it would without a morning.
	if m.nextMarket <= start {
		m.nextMarket += marketEvery
	}
	for m.nextScore <= start {
		m.scoreK++
		m.nextScore = staggered(m.t0, m.scoreK, int64(len(m.syms)))
	}
	m.until = never
	m.intro = 0
	return m
}
