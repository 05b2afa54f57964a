package feed

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
)

// Event is one event read from an event stream.
type Event struct {
	ID   string // the last event id in force when it was dispatched
	Name string // "message" when the stream named none
	Data string
}

// Reader parses an event stream as the HTML standard's "event stream
// interpretation" says: CRLF, LF and CR all end lines, comments are
// skipped, data lines join with LF, an id with NUL is ignored, and an event
// with no data is not dispatched.
type Reader struct {
	sc     *bufio.Scanner
	lastID string
	first  bool

	// Comments counts comment lines seen (heartbeats among them).
	Comments int
	// Retry is the last valid retry: value in milliseconds, or -1.
	Retry int
	// Bytes counts what was read, line breaks included.
	Bytes int64
}

// NewReader returns a reader of r. Lines may be up to 64 MiB long.
func NewReader(r io.Reader) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	rd := &Reader{sc: sc, first: true, Retry: -1}
	sc.Split(rd.splitLines)
	return rd
}

func (r *Reader) splitLines(data []byte, atEOF bool) (int, []byte, error) {
	i := bytes.IndexAny(data, "\r\n")
	if i < 0 {
		if atEOF && len(data) > 0 {
			// A last line with no line break is never dispatched, but it
			// is still read.
			r.Bytes += int64(len(data))
			return len(data), data, nil
		}
		return 0, nil, nil
	}
	if data[i] == '\r' {
		if i+1 == len(data) && !atEOF {
			return 0, nil, nil // is it CRLF? need one more byte
		}
		if i+1 < len(data) && data[i+1] == '\n' {
			r.Bytes += int64(i + 2)
			return i + 2, data[:i], nil
		}
	}
	r.Bytes += int64(i + 1)
	return i + 1, data[:i], nil
}

// Next returns the next dispatched event, or an error (io.EOF at a clean
// end of stream). An incomplete event at the end is dropped, as browsers do.
func (r *Reader) Next() (Event, error) {
	var name string
	var data strings.Builder
	hasData := false
	for r.sc.Scan() {
		line := r.sc.Bytes()
		if r.first {
			line = bytes.TrimPrefix(line, []byte("\ufeff"))
			r.first = false
		}
		if len(line) == 0 {
			if !hasData {
				name = ""
				continue
			}
			if name == "" {
				name = "message"
			}
			return Event{ID: r.lastID, Name: name, Data: data.String()}, nil
		}
		if line[0] == ':' {
			r.Comments++
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		switch string(field) {
		case "event":
			name = string(value)
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.Write(value)
			hasData = true
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				r.lastID = string(value)
			}
		case "retry":
			if n, err := strconv.Atoi(string(value)); err == nil && n >= 0 && isDigits(value) {
				r.Retry = n
			}
		}
	}
	if err := r.sc.Err(); err != nil {
		return Event{}, err
	}
	return Event{}, io.EOF
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}
