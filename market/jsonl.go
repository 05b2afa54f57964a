package market

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// recEvt is one JSONL line.
type recEvt struct {
	at           int64
	name, symbol string
	data         any
}

// recordLine is one line of a recording.
type recordLine struct {
	Event  string          `json:"event"`
	Symbol string          `json:"symbol,omitempty"`
	Data   json.RawMessage `json:"data"`
}

func (p *Player) readJSONL(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	syms := symbolIndex{idx: map[string]int{}, listings: &p.listings}
	var (
		line       int
		sawMarket  bool
		pictureErr error
		hasQuote   = map[string]bool{}
		hasScore   = map[string]bool{}
		last       int64
	)
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue // a blank line holds no event
		}
		var l recordLine
		if err := json.Unmarshal(b, &l); err != nil {
			return fmt.Errorf("line %d: %v", line, err)
		}
		var (
			data any
			ts   float64
			sym  string
		)
		switch l.Event {
		case EventQuote:
			q := new(Quote)
			data = q
			if err := decodeStrict(l.Data, q); err != nil {
				return fmt.Errorf("line %d: quote: %v", line, err)
			}
			if !(q.Price > 0) || bad(q.Price) {
				return fmt.Errorf("line %d: quote: price %v, want a positive number", line, q.Price)
			}
			ts, sym = q.TS, q.Symbol
			hasQuote[sym] = true
		case EventScore:
			s := new(Score)
			data = s
			if err := decodeStrict(l.Data, s); err != nil {
				return fmt.Errorf("line %d: score: %v", line, err)
			}
			ts, sym = s.TS, s.Symbol
			hasScore[sym] = true
		case EventMarket:
			m := new(Market)
			data = m
			if err := decodeStrict(l.Data, m); err != nil {
				return fmt.Errorf("line %d: market: %v", line, err)
			}
			if m.Session != "open" && m.Session != "closed" {
				return fmt.Errorf("line %d: market: session %q, want open or closed", line, m.Session)
			}
			ts = m.TS
			if !sawMarket {
				sawMarket = true
				for s := range syms.idx {
					if (!hasQuote[s] || !hasScore[s]) && pictureErr == nil {
						pictureErr = fmt.Errorf("line %d: the first market event comes before a quote and a score of %s: a recording must start with the complete picture Record writes", line, s)
					}
				}
			}
		case EventStatus:
			s := new(Status)
			data = s
			if err := decodeStrict(l.Data, s); err != nil {
				return fmt.Errorf("line %d: status: %v", line, err)
			}
			// A symbol's state, or the session's (docs/API.md).
			if s.Symbol != "" && s.State != "halted" && s.State != "trading" {
				return fmt.Errorf("line %d: status of %s: state %q, want halted or trading", line, s.Symbol, s.State)
			}
			if s.Symbol == "" && s.State != "open" && s.State != "closed" {
				return fmt.Errorf("line %d: status of the session: state %q, want open or closed", line, s.State)
			}
			ts, sym = s.TS, s.Symbol
		default:
			return fmt.Errorf("line %d: event %q: want quote, score, market or status", line, l.Event)
		}
		if sym != l.Symbol {
			return fmt.Errorf("line %d: symbol %q outside and %q inside the data", line, l.Symbol, sym)
		}
		if sym != "" {
			if err := validSymbol(sym); err != nil {
				return fmt.Errorf("line %d: %v", line, err)
			}
			if !sawMarket || l.Event == EventQuote {
				syms.get(sym)
			} else if _, ok := syms.idx[sym]; !ok {
				return fmt.Errorf("line %d: %s %s comes before any quote of %s", line, l.Event, sym, sym)
			}
		}
		if !(ts > 0) || bad(ts) {
			return fmt.Errorf("line %d: ts %v, want Unix milliseconds", line, ts)
		}
		at := int64(math.Round(ts * 1000))
		// A recording stamped by a wall clock that stepped back: play the
		// event at once rather than reject the file.
		at = max(at, last)
		last = at
		p.events = append(p.events, recEvt{at: at, name: l.Event, symbol: sym, data: data})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", line+1, err)
	}
	if pictureErr != nil {
		return pictureErr
	}
	if len(p.events) == 0 {
		return errors.New("no events to play")
	}
	if len(p.listings) == 0 {
		return errors.New("no quotes in the recording")
	}
	return nil
}

// decodeStrict decodes one event's data and refuses fields the type does not
// have, so a file of another shape is an error, not zeros.
func decodeStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// jsonlStepper plays a recording's events as they were.
type jsonlStepper struct {
	events []recEvt
	i      int
}

func (j *jsonlStepper) next() (int64, string, string, any, bool) {
	if j.i >= len(j.events) {
		return 0, "", "", nil, false
	}
	e := j.events[j.i]
	j.i++
	return e.at, e.name, e.symbol, e.data, true
}
