package feed

import (
	"encoding/json"
	"errors"
	"strconv"
)

// Kind is one of the market's event kinds, which filters select.
type Kind uint8

// The market's event kinds; their names are the wire's event names.
const (
	KindQuote Kind = iota
	KindScore
	KindMarket
	KindStatus
	numKinds
)

// Names of the events that are not market events.
const (
	EventSnapshot = "snapshot"
	EventReset    = "reset"
)

func (k Kind) String() string {
	switch k {
	case KindQuote:
		return "quote"
	case KindScore:
		return "score"
	case KindMarket:
		return "market"
	case KindStatus:
		return "status"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// kindOf returns the kind named name.
func kindOf(name string) (Kind, bool) {
	for k := range numKinds {
		if k.String() == name {
			return k, true
		}
	}
	return 0, false
}

var errBadName = errors.New("feed: event name is empty or holds a line break or NUL")

// validName reports whether name can stand in an event: field without
// ending the field early.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\r', '\n', 0:
			return false
		}
	}
	return true
}

// AppendSSE appends one event in the event-stream format. id 0 means no id
// field. data is split on every line break (CRLF, CR, LF) into data: lines,
// so nothing in it can end the field or the event early; a reader joins
// them back with LF. The name must not hold a line break or NUL.
func AppendSSE(b []byte, id uint64, name string, data []byte) ([]byte, error) {
	if !validName(name) {
		return b, errBadName
	}
	if id != 0 {
		b = append(b, "id: "...)
		b = strconv.AppendUint(b, id, 10)
		b = append(b, '\n')
	}
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, '\n')
	for {
		i := lineBreak(data)
		b = append(b, "data: "...)
		if i < 0 {
			b = append(b, data...)
			b = append(b, '\n')
			break
		}
		b = append(b, data[:i]...)
		b = append(b, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	return append(b, '\n'), nil
}

// lineBreak returns the index of the first CR or LF in data, or -1.
func lineBreak(data []byte) int {
	for i, c := range data {
		if c == '\r' || c == '\n' {
			return i
		}
	}
	return -1
}

// appendWS appends one event as the WebSocket twin's message:
// {"event":NAME,"id":"ID","data":DATA}, with no id key when id is 0. data
// must be one JSON value; name must be valid.
func appendWS(b []byte, id uint64, name string, data []byte) ([]byte, error) {
	if !validName(name) {
		return b, errBadName
	}
	quoted, err := json.Marshal(name)
	if err != nil {
		return b, err
	}
	b = append(b, `{"event":`...)
	b = append(b, quoted...)
	if id != 0 {
		b = append(b, `,"id":"`...)
		b = strconv.AppendUint(b, id, 10)
		b = append(b, '"')
	}
	b = append(b, `,"data":`...)
	b = append(b, data...)
	return append(b, '}'), nil
}
