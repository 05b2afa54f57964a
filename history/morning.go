package history

import "fmt"

// A single node folds its market's morning before the market goes live
// (Backfill), so the morning's bars come first by construction. A node fed
// by a broker may take its first events before the morning reaches it
// from the leader: Prepend then puts the morning's bars before the ones
// folded since.

// Prepend folds trades, the morning of symbol (oldest first), which traded
// before every bar the symbol holds, and puts their bars in front of those,
// at every interval: the bars are then what folding the morning first
// would have made; its last trades, likewise, come before the symbol's
// own. A bar of the morning that starts with the oldest one
// held is merged into it (its open is the morning's; its high, low and
// volume take both in); the newest bars are kept, as many as ever. A
// symbol takes one morning: once it has, Prepend does nothing, so that
// the same morning taken in twice counts once.
func (s *Store) Prepend(symbol string, trades []Trade) error {
	i, ok := s.index[symbol]
	if !ok {
		return fmt.Errorf("history: unknown symbol %q", symbol)
	}
	for j := 1; j < len(trades); j++ {
		if trades[j].T < trades[j-1].T {
			return fmt.Errorf("history: %s's morning: trade %d at %v, after %v", symbol, j, trades[j].T, trades[j-1].T)
		}
	}
	m := New([]string{symbol}, Options{Keep: s.keep})
	for _, tr := range trades {
		m.add(0, tr.T, tr.P, tr.S)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.morning[i] {
		return nil
	}
	s.morning[i] = true
	for k := range Intervals {
		s.series[i][k].prepend(m.series[0][k].tail(nil, s.keep), s.keep)
	}
	s.tapes[i].prepend(m.tapes[0].tail(nil, TradesKept))
	return nil
}

// prepend puts bars, older than sr's, in front of them, merging the bar
// they share, and keeps the newest keep.
func (sr *series) prepend(bars []Bar, keep int) {
	held := sr.tail(nil, sr.len())
	out := make([]Bar, 0, len(bars)+len(held))
	for _, b := range bars {
		if len(held) > 0 && b.T >= held[0].T {
			if h := &held[0]; b.T == h.T {
				h.O, h.H, h.L, h.V = b.O, max(h.H, b.H), min(h.L, b.L), h.V+b.V
			}
			break
		}
		out = append(out, b)
	}
	out = append(out, held...)
	if len(out) > keep {
		out = out[len(out)-keep:]
	}
	sr.set(out)
}

// prepend puts trades, older than t's, in front of them, and keeps the
// newest TradesKept.
func (t *tape) prepend(trades []Trade) {
	out := append(trades, t.tail(nil, len(t.buf))...)
	if len(out) > TradesKept {
		out = out[len(out)-TradesKept:]
	}
	t.buf, t.head = out, 0
}
