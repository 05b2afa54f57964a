package feed

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Ahead is how a log fed by a broker treats a resume from an id a little
// ahead of its newest event (docs/API.md, "Resume a moment ahead"). Such
// an id comes from a client that left a node a moment ahead of this one:
// rather than answer it with reset future at once, the request waits for
// the log to catch up.
type Ahead struct {
	// Wait is the longest a resume waits, and the span of events that
	// counts as a little ahead: an id no further ahead than Rate × Wait.
	Wait time.Duration
	// Rate returns the market's recent rate, in events per second.
	Rate func() float64
	// Waiting, if not nil, counts the resumes waiting now.
	Waiting prometheus.Gauge
}

// wait holds a resume from lastID while its id is a little ahead of the
// log, until the log has it, a.Wait has passed, ctx is done or the log is
// closed. Then the subscription decides, as for any id. A nil a, an id
// that is not one, or one the log has or that is further ahead, does not
// wait.
func (a *Ahead) wait(ctx context.Context, l *Log, lastID string) {
	if a == nil || lastID == "" {
		return
	}
	id, err := parseID(lastID)
	if err != nil {
		return
	}
	next := l.nextID()
	if id < next || float64(id-next+1) > a.Rate()*a.Wait.Seconds() {
		return
	}
	// A watcher with no filter is in the log's index for every kind, so
	// that each append wakes it, as it wakes the streams that want it.
	// The loop below looks at the log again once it is watched, so no
	// append slips in between.
	w := &Subscription{log: l, wake: make(chan struct{}, 1)}
	l.watch(w)
	defer l.unwatch(w)
	if a.Waiting != nil {
		a.Waiting.Inc()
		defer a.Waiting.Dec()
	}
	timer := time.NewTimer(a.Wait)
	defer timer.Stop()
	for id >= l.nextID() {
		select {
		case <-w.wake:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		case <-l.done:
			return
		}
	}
}

// nextID returns the id the next event gets.
func (l *Log) nextID() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.next
}
