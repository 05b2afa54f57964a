package feed

import (
	"cmp"
	"slices"
)

// maxUnconflated is how many market and status events the log keeps for
// throttled streams, beyond the ring: at about one market event a second,
// several minutes, more than the longest interval (MaxThrottle). Should
// more come in one interval, a throttled stream gets the newest of each
// (docs/API.md).
const maxUnconflated = 512

// Subject slots of conflation.latest: three per symbol, then the market
// and the session.
const (
	slotQuote = iota
	slotScore
	slotStatus
	slotsPerSymbol
)

// conflation is what throttled streams read instead of the ring: the
// newest event of every subject, and the market and status events, which
// a throttle does not conflate, in a ring of their own. The log's writer
// keeps it as it appends, so a throttled stream, which looks once per
// interval, never falls behind the ring however many events an interval
// spans. Guarded by the log's mu, as the ring is.
type conflation struct {
	latest   []entry // the newest event per subject; slotFor says which
	unconf   []entry // the newest market and status events, a ring
	nUnconf  uint64  // how many were ever kept in unconf
	overrun  uint64  // the id of the newest one that fell off unconf; 0: none
	nSymbols int
}

func newConflation(symbols int) conflation {
	return conflation{
		latest:   make([]entry, slotsPerSymbol*symbols+2),
		unconf:   make([]entry, maxUnconflated),
		nSymbols: symbols,
	}
}

// slotFor returns the subject slot of an event of kind for symbol index
// sym (-1: market-wide).
func (c *conflation) slotFor(kind Kind, sym int) int {
	switch {
	case kind == KindMarket:
		return slotsPerSymbol * c.nSymbols
	case sym < 0: // a session status
		return slotsPerSymbol*c.nSymbols + 1
	case kind == KindQuote:
		return slotsPerSymbol*sym + slotQuote
	case kind == KindScore:
		return slotsPerSymbol*sym + slotScore
	default:
		return slotsPerSymbol*sym + slotStatus
	}
}

// keep takes an event the writer appends. Callers hold the log's mu for
// writing.
func (c *conflation) keep(e entry) {
	c.latest[c.slotFor(e.kind, e.sym)] = e
	if e.kind == KindMarket || e.kind == KindStatus {
		i := c.nUnconf % maxUnconflated
		if c.nUnconf >= maxUnconflated {
			c.overrun = c.unconf[i].id
		}
		c.unconf[i] = e
		c.nUnconf++
	}
}

// oldestFor returns the oldest id after which the log can still give a
// subscription with filter f everything it is owed: the ring's oldest for
// a stream that reads the ring; for a throttled one, which reads the
// newest state, the first id of the run (so it is never lapped, and
// resumes from any id of the run). Callers hold mu.
func (l *Log) oldestFor(f *Filter) uint64 {
	if f.Throttle > 0 {
		return l.first
	}
	return l.oldest()
}

// conflate appends what changed since the cursor, in id order, for a
// throttled subscription: the newest quote and score of each symbol it
// watches, and every market and status event it wants (or, if more came
// than the log keeps of them, the newest of each). Callers hold the log's
// mu for reading; each subscription touches only its own scratch.
func (s *Subscription) conflate(msgs [][]byte, b *batch) [][]byte {
	l := s.log
	c := &l.conflation
	from := s.cursor
	s.picked = s.picked[:0]
	pick := func(e *entry) {
		if e.frames != nil && e.id >= from && s.filter.wants(e) {
			s.picked = append(s.picked, e)
		}
	}
	for sym := range c.nSymbols {
		if s.filter.Symbols != nil && !s.filter.Symbols[sym] {
			continue
		}
		pick(&c.latest[slotsPerSymbol*sym+slotQuote])
		pick(&c.latest[slotsPerSymbol*sym+slotScore])
	}
	if c.overrun < from {
		// Every market and status event since the cursor is still kept.
		for n := c.nUnconf; n > 0 && c.nUnconf-n < maxUnconflated; n-- {
			e := &c.unconf[(n-1)%maxUnconflated]
			if e.id < from {
				break
			}
			pick(e)
		}
	} else {
		for sym := range c.nSymbols {
			pick(&c.latest[slotsPerSymbol*sym+slotStatus])
		}
		pick(&c.latest[slotsPerSymbol*c.nSymbols])   // the market
		pick(&c.latest[slotsPerSymbol*c.nSymbols+1]) // the session
	}
	slices.SortFunc(s.picked, func(a, b *entry) int { return cmp.Compare(a.id, b.id) })
	for _, e := range s.picked {
		msgs = append(msgs, s.bytes(e))
		b.events++
		b.payload += s.bareLen(e)
	}
	clear(s.picked) // let go of frames the log may drop
	s.cursor = l.next
	return msgs
}
