package market

import (
	"context"
	"fmt"
	"time"
)

// stepper is a deterministic event source: the simulation or a file's
// events. next returns the next event and its time on the source's own clock
// (Unix µs); data is valid until the next call. ok is false at the end.
type stepper interface {
	next() (at int64, name, symbol string, data any, ok bool)
}

// maxLag is how far the live driver may fall behind its schedule (a slow
// sink, a suspended laptop) before it stops catching up and moves the
// schedule instead, so a stall is not followed by a burst of old events.
const maxLag = 2 * time.Second

// drive publishes st's events to sink until ctx is done or st ends.
//
// speed > 0 paces the events against the wall clock: an event due d after
// the first is published at start + d/speed, and its ts is stamped with the
// wall clock just before Publish, so a client measuring latency from ts
// measures delivery. speed == 0 publishes as fast as the sink takes them and
// keeps the source's own timestamps.
func drive(ctx context.Context, sink Sink, st stepper, speed float64, now func() time.Time) error {
	if now == nil {
		now = time.Now
	}
	var (
		timer      *time.Timer
		wall0, at0 int64
		started    bool
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if ctx.Err() != nil {
			return nil
		}
		at, name, symbol, data, ok := st.next()
		if !ok {
			return nil
		}
		if speed > 0 {
			n := now().UnixMicro()
			if !started {
				started, wall0, at0 = true, n, at
			}
			due := wall0 + int64(float64(at-at0)/speed)
			if wait := time.Duration(due-n) * time.Microsecond; wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				select {
				case <-ctx.Done():
					return nil
				case <-timer.C:
				}
				n = now().UnixMicro()
			} else if lag := time.Duration(n-due) * time.Microsecond; lag > maxLag {
				wall0 += n - due
			}
			stamp(data, TS(n))
		}
		if err := sink.Publish(name, symbol, data); err != nil {
			return fmt.Errorf("market: publish %s %s: %w", name, symbol, err)
		}
	}
}

// stamp sets the ts of an event's data.
func stamp(data any, ts float64) {
	switch d := data.(type) {
	case *Quote:
		d.TS = ts
	case *Score:
		d.TS = ts
	case *Market:
		d.TS = ts
	case *Status:
		d.TS = ts
	}
}
