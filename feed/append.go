package feed

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrStale is returned by Append for an id at or below the newest one: the
// log only grows, so an older event cannot be placed.
var ErrStale = errors.New("feed: event id older than the log's newest")

// Append adds an event that already has its id and its JSON data: the path
// of a node fed by a broker, whose ids must be the publisher's so that a
// client can resume on any node. Unlike Publish it does not close Ready
// (see MarkReady), so that a node can catch up before it serves.
//
// An id more than one past the newest is a gap the log cannot fill. The log
// then starts over at that id, as a new run would: every open subscription
// is behind the oldest event and gets a reset and a fresh snapshot, and a
// resume from an older id gets reset too_old. So a gap is never silent on
// the wire; docs/API.md allows a jump only behind a reset. The snapshot state
// (newest quote, score, status per symbol, market, session) is kept.
func (l *Log) Append(id uint64, name, symbol string, raw []byte) error {
	kind, sym, err := l.resolve(name, symbol)
	if err != nil {
		return fmt.Errorf("feed: append %d: %w", id, err)
	}
	if !json.Valid(raw) {
		return fmt.Errorf("feed: append %d %s %s: data is not JSON", id, name, symbol)
	}
	raw = append([]byte(nil), raw...) // the caller's buffer is not ours to keep

	l.mu.Lock()
	gap := false
	switch {
	case l.next == l.first:
		// The first event: the log takes up the publisher's sequence.
		l.first, l.next = id, id
	case id < l.next:
		err := fmt.Errorf("%w: %d, newest %d", ErrStale, id, l.next-1)
		l.mu.Unlock()
		return err
	case id > l.next:
		l.first, l.next = id, id
		gap = true
	}
	if err := l.appendLocked(id, kind, sym, name, raw); err != nil {
		l.mu.Unlock()
		return err
	}
	if gap {
		// Every subscription is behind the new start: wake them all, so
		// that each gets its reset now, not at its next wanted event.
		l.interest.mu.Lock()
		l.mu.Unlock()
		l.interest.notifyAllLocked(id)
		l.interest.mu.Unlock()
		return nil
	}
	l.unlockAndWake(id, kind, sym)
	return nil
}

// Restore sets the newest state of one subject (what a snapshot shows)
// without adding an event: a node catching up from a broker takes the
// newest quote, score and status per symbol, the market and the session
// from a last-value store, then appends the recent events over them.
func (l *Log) Restore(name, symbol string, raw []byte) error {
	kind, sym, err := l.resolve(name, symbol)
	if err != nil {
		return fmt.Errorf("feed: restore: %w", err)
	}
	if !json.Valid(raw) {
		return fmt.Errorf("feed: restore %s %s: data is not JSON", name, symbol)
	}
	raw = append([]byte(nil), raw...)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setState(kind, sym, raw)
	// The state changed with no new id: a snapshot made before is stale.
	l.snapSSE.Store(nil)
	l.snapWS.Store(nil)
	return nil
}

// MarkReady closes Ready: a node fed by Append calls it once it has caught
// up, and only then serves. It is for logs fed by Append alone; Publish
// closes Ready by itself.
func (l *Log) MarkReady() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.markReadyLocked()
}

// markReadyLocked closes Ready once. Callers hold mu.
func (l *Log) markReadyLocked() {
	select {
	case <-l.ready:
	default:
		close(l.ready)
	}
}

// HasMarket reports whether the log knows the market's summary, without
// which a snapshot is incomplete.
func (l *Log) HasMarket() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.market != nil
}

// resolve checks an event's name and symbol as Publish does.
func (l *Log) resolve(name, symbol string) (Kind, int, error) {
	kind, ok := kindOf(name)
	if !ok {
		return 0, 0, fmt.Errorf("unknown event %q", name)
	}
	if symbol == "" {
		if kind == KindQuote || kind == KindScore {
			return 0, 0, fmt.Errorf("%s: no symbol", name)
		}
		return kind, -1, nil
	}
	i, ok := l.symIndex[symbol]
	if !ok {
		return 0, 0, fmt.Errorf("%s: unknown symbol %q", name, symbol)
	}
	return kind, i, nil
}

// setState keeps raw as the newest state of its subject. Callers hold mu.
func (l *Log) setState(kind Kind, sym int, raw []byte) {
	switch {
	case kind == KindQuote:
		l.quotes[sym] = raw
	case kind == KindScore:
		l.scores[sym] = raw
	case kind == KindMarket:
		l.market = raw
	case kind == KindStatus && sym >= 0:
		l.status[sym] = raw
	case kind == KindStatus:
		l.session = raw
	}
}
