package feed

import "sync"

// The log does not broadcast. It keeps an index of who is waiting for
// what, by event kind and symbol, and an append wakes only the
// subscriptions whose filter passes the event: a stream of one symbol's
// quotes is never woken by another symbol's quote, nor by a market event
// it did not ask for. A subscription woken for nothing (its filter passes
// no event past its cursor although the index said one was there) means
// the index is wrong; the log counts those (tickertape_wakeups_wasted_total)
// so that the bug shows.

// interest is the log's index of watched subscriptions.
type interest struct {
	mu    sync.Mutex
	kinds [numKinds]kindIndex // guarded by mu
}

// kindIndex holds the subscriptions that take one kind of event.
type kindIndex struct {
	all   subList   // with no symbol filter: woken by every event of the kind
	some  subList   // with a symbol filter: woken by the kind's market-wide events
	bySym []subList // with a symbol filter, by symbol index
}

// subList is a list of subscriptions with lazy removal: an unwatched
// subscription stays until half the list is gone, then the list is
// compacted, so that removal is O(1) amortised and nothing is searched.
type subList struct {
	subs []*Subscription
	dead int
}

func (l *subList) add(s *Subscription) { l.subs = append(l.subs, s) }

func (l *subList) remove() {
	l.dead++
	if l.dead*2 < len(l.subs) {
		return
	}
	live := l.subs[:0]
	for _, s := range l.subs {
		if !s.unwatched {
			live = append(live, s)
		}
	}
	clear(l.subs[len(live):])
	l.subs, l.dead = live, 0
	if cap(l.subs) > 64 && len(l.subs) < cap(l.subs)/4 {
		l.subs = append([]*Subscription(nil), l.subs...) // give back what churn grew
	}
}

func (l *subList) notify(id uint64) {
	for _, s := range l.subs {
		if !s.unwatched {
			s.notify(id)
		}
	}
}

// lists calls fn for every list the filter puts a subscription in. A
// subscription is in at most one of an event's lists, so it is woken at
// most once per event.
func (ix *interest) lists(f *Filter, nsym int, fn func(*subList)) {
	for k := range numKinds {
		if f.Kinds != 0 && f.Kinds&(1<<k) == 0 {
			continue
		}
		ki := &ix.kinds[k]
		if f.Symbols == nil {
			fn(&ki.all)
			continue
		}
		fn(&ki.some)
		if ki.bySym == nil {
			ki.bySym = make([]subList, nsym)
		}
		for i, on := range f.Symbols {
			if on {
				fn(&ki.bySym[i])
			}
		}
	}
}

// unlockAndWake releases the log's lock and wakes the subscriptions that
// want event id. The index is locked before the log is unlocked, so that
// notifications go out in the order of the appends. Callers hold mu for
// writing.
func (l *Log) unlockAndWake(id uint64, kind Kind, sym int) {
	l.interest.mu.Lock()
	l.mu.Unlock()
	l.interest.notifyLocked(id, kind, sym)
	l.interest.mu.Unlock()
}

// watch puts s in the index: from now on every append that s's filter
// passes notifies it. A throttled subscription is not watched: it looks
// at the log once per interval by design.
func (l *Log) watch(s *Subscription) {
	if s.filter.Throttle > 0 {
		return
	}
	ix := &l.interest
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if s.watched {
		return
	}
	s.watched = true
	ix.lists(&s.filter, len(l.symbols), func(sl *subList) { sl.add(s) })
}

// unwatch takes s out of the index. It is safe to call for a subscription
// that was never watched, and more than once.
func (l *Log) unwatch(s *Subscription) {
	ix := &l.interest
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if !s.watched || s.unwatched {
		return
	}
	s.unwatched = true
	ix.lists(&s.filter, len(l.symbols), func(sl *subList) { sl.remove() })
}

// notifyLocked wakes the subscriptions that want event id of kind and
// symbol index sym (-1: market-wide). Callers hold interest.mu.
func (ix *interest) notifyLocked(id uint64, kind Kind, sym int) {
	ki := &ix.kinds[kind]
	ki.all.notify(id)
	switch {
	case sym < 0:
		ki.some.notify(id)
	case ki.bySym != nil:
		ki.bySym[sym].notify(id)
	}
}

// notifyAllLocked wakes every watched subscription. Callers hold
// interest.mu.
func (ix *interest) notifyAllLocked(id uint64) {
	for k := range ix.kinds {
		ki := &ix.kinds[k]
		ki.all.notify(id)
		ki.some.notify(id)
		for i := range ki.bySym {
			ki.bySym[i].notify(id)
		}
	}
}

// notify tells s that event id, which its filter passes, is in the log. A
// subscription served by the hub's writers is queued on its writer; one
// served by a goroutine of its own gets a token on its wake channel.
func (s *Subscription) notify(id uint64) {
	// pending keeps the oldest wanted id not yet delivered: it is replaced
	// only when empty or stale (below the owner's cursor, published under
	// the log's lock, so that an append that follows a look sees it).
	for {
		p := s.pending.Load()
		if p != 0 && p >= s.pos.Load() {
			break
		}
		if s.pending.CompareAndSwap(p, id) {
			break
		}
	}
	h := s.inHead.Load()
	s.inbox[h%inboxSize].Store(id)
	s.inHead.Store(h + 1)
	s.notified.Store(id)
	s.wakes.Add(1)
	if c := s.conn.Load(); c != nil {
		c.wakeUp()
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// lookMark is what a subscription knew before it looked at the log: its
// cursor, and the newest id it had been notified of.
type lookMark struct{ cursor, notified uint64 }

func (s *Subscription) mark() lookMark { return lookMark{s.cursor, s.notified.Load()} }

// checkWasted counts a look that found nothing although the subscription
// had been notified, before it looked, of an event at or past its cursor:
// its filter passed nothing there, so the index woke it for nothing. A
// stale notification (of an event an earlier look delivered) is not
// counted, nor one that comes in while it looks.
func (s *Subscription) checkWasted(m lookMark, delivered int) {
	if delivered == 0 && m.notified >= m.cursor {
		s.log.wasted.Add(1)
	}
}

// wakeCount is how many times s was notified: tests use it to prove that
// a subscription is woken only for events it wants.
func (s *Subscription) wakeCount() uint64 { return s.wakes.Load() }
