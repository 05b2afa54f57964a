package history

import "fmt"

// Trade is one print of a symbol, as API.md's /api/trades has it.
type Trade struct {
	T float64 `json:"t"` // the quote's ts, Unix ms
	P float64 `json:"p"`
	S int64   `json:"s"` // shares
}

// TradePage is the answer to one trades request.
type TradePage struct {
	Symbol string  `json:"symbol"`
	ID     uint64  `json:"id"`
	Trades []Trade `json:"trades"`
}

// SymbolTrades is one symbol's last trades in a [TradesBatch].
type SymbolTrades struct {
	Symbol string  `json:"symbol"`
	Trades []Trade `json:"trades"`
}

// TradesBatch is the answer to one trades request for several symbols.
type TradesBatch struct {
	ID      uint64         `json:"id"`
	Symbols []SymbolTrades `json:"symbols"`
}

const (
	// TradesKept is how many trades each symbol keeps, the newest.
	TradesKept = 200
	// DefaultTrades is what a trades request without limit gets; a request
	// may ask for up to TradesKept.
	DefaultTrades = 50
)

// tape is one symbol's last trades: a ring of at most TradesKept.
type tape struct{ ring[Trade] }

// addTrade keeps one trade of symbol i, which add has checked; callers
// hold mu. Unlike a bar, a trade keeps its own time even when the clock
// stepped back: it is what the quote said.
func (s *Store) addTrade(i int, ts, price float64, size int64) {
	s.tapes[i].push(Trade{T: ts, P: price, S: size}, TradesKept)
}

// Trades returns the newest limit trades (1 to TradesKept) of symbol,
// oldest first, with the id of the newest event folded in.
func (s *Store) Trades(symbol string, limit int) (TradePage, error) {
	i, ok := s.index[symbol]
	if !ok {
		return TradePage{}, fmt.Errorf("history: unknown symbol %q", symbol)
	}
	if limit < 1 || limit > TradesKept {
		return TradePage{}, fmt.Errorf("history: trades limit %d: want 1 to %d", limit, TradesKept)
	}
	p := TradePage{Symbol: symbol}
	s.mu.RLock()
	t := &s.tapes[i]
	p.Trades = t.tail(make([]Trade, 0, min(limit, len(t.buf))), limit)
	p.ID = s.id
	s.mu.RUnlock()
	return p, nil
}

// TradesOf returns the newest limit trades (1 to TradesKept) of each
// symbol whose flag is set in syms (one flag per symbol, in the order New
// had them; nil for all), in that order, each oldest first, with the id of
// the newest event folded in: one id for all, taken with their trades.
func (s *Store) TradesOf(syms []bool, limit int) (TradesBatch, error) {
	if syms != nil && len(syms) != len(s.names) {
		return TradesBatch{}, fmt.Errorf("history: %d symbol flags for %d symbols", len(syms), len(s.names))
	}
	if limit < 1 || limit > TradesKept {
		return TradesBatch{}, fmt.Errorf("history: trades limit %d: want 1 to %d", limit, TradesKept)
	}
	b := TradesBatch{Symbols: []SymbolTrades{}}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i, sym := range s.names {
		if syms != nil && !syms[i] {
			continue
		}
		t := &s.tapes[i]
		b.Symbols = append(b.Symbols, SymbolTrades{Symbol: sym, Trades: t.tail(make([]Trade, 0, min(limit, len(t.buf))), limit)})
	}
	b.ID = s.id
	return b, nil
}
