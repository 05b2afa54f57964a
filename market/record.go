package market

import (
	"encoding/json"
	"fmt"
	"io"
)

// Record returns a Sink that writes every event to w as one JSON line,
// {"event":…,"symbol":…,"data":{…}}, then passes it to next (if next is not
// nil). Open with Source "file:PATH" plays such a file back. Each event is
// one Write to w; a write error is returned from Publish and stops the
// source. Like every Sink it is called from one goroutine.
func Record(w io.Writer, next Sink) Sink {
	return &recorder{w: w, next: next}
}

type recorder struct {
	w    io.Writer
	next Sink
	buf  []byte
}

func (r *recorder) Publish(name, symbol string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("market: record %s: %w", name, err)
	}
	l, err := json.Marshal(recordLine{Event: name, Symbol: symbol, Data: b})
	if err != nil {
		return fmt.Errorf("market: record %s: %w", name, err)
	}
	r.buf = append(append(r.buf[:0], l...), '\n')
	if _, err := r.w.Write(r.buf); err != nil {
		return fmt.Errorf("market: record: %w", err)
	}
	if r.next == nil {
		return nil
	}
	return r.next.Publish(name, symbol, data)
}
