package feed_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "tickertape/feed"
	"tickertape/internal/sse"
)

// The recorded stream is what /events writes for hostile payloads, kept in
// testdata so that a parser written by someone else can read it: the
// dashboard's unit tests (ui/test/unit/parser.test.ts) feed it to the npm
// eventsource-parser and must get, event by event, what Reader got, which
// is kept beside it as JSON. go test -run TestRecordedStream -update
// ./feed writes both again.
var update = flag.Bool("update", false, "write testdata/hostile.sse and testdata/hostile.json again")

const (
	recordedStream = "testdata/hostile.sse"
	recordedEvents = "testdata/hostile.json"
)

// recordedParse is Reader's reading of a whole stream.
type recordedParse struct {
	Events   []recordedEvent `json:"events"`
	Comments int             `json:"comments"` // comment lines, heartbeats and the like
	Retry    int             `json:"retry"`    // the last retry: in milliseconds
}

type recordedEvent struct {
	ID   string `json:"id"` // the last event id in force, as EventSource's lastEventId
	Name string `json:"name"`
	Data string `json:"data"`
}

// hostilePayloads are JSON that the log takes as it is (a broker's or a
// file's bytes, through Append), each one a way to end a field or an
// event early if the framing were careless: every kind of line break
// between tokens (JSON allows CR, LF and CRLF there), lines that start
// with a space or a colon or read like fields, U+2028 and U+2029 raw in
// strings (line breaks to JavaScript, not to an event stream), quotes,
// characters outside the BMP, and a line longer than any parser's first
// buffer.
func hostilePayloads() [][2]string {
	long := strings.Repeat("x", 80<<10) // more than Reader's first buffer (64 KiB)
	return [][2]string{
		{"quote", `{"symbol":"AAPL","note":"line` + "\u2028" + `separator, paragraph` + "\u2029" + `separator","price":1}`},
		{"quote", "{\r\"symbol\":\"AAPL\",\r\n\"price\":2\r}"},
		{"quote", "{\"symbol\":\"MSFT\",\n\n\"price\":3}\r"},
		{"quote", "{\"symbol\":\"MSFT\",\r\r\n\n\r\"price\":4}"},
		{"score", "{\n  \"symbol\": \"AAPL\",\n   \"score\": 5\n}"},
		{"score", "{\"symbol\":\"MSFT\",\"k\"\n:\"x\",\"score\"\n: 6}"},
		{"quote", "{\"symbol\":\"AAPL\",\n\"event\":\"reset\",\n\"id\":\"1\",\n\"retry\":\"5\",\n\"data\":\"x\",\n\"price\":7}"},
		{"quote", `{"symbol":"AAPL","note":"she said \"data: x\" \\\"id: 9\\\" '` + "\u00ab" + `quoted` + "\u00bb" + `'","price":8}`},
		{"quote", `{"symbol":"MSFT","note":"` + "\U0001F4C8 \u00e9\u0301 \ufeff" + `","price":9}`},
		{"status", "{\"symbol\":\"AAPL\",\r\n\"state\":\"halted\",\"reason\":\"move\u2028\"}"},
		{"market", "{\"index\":10,\r\n\"sectors\":[\r\n]}\n"},
		{"quote", `{"symbol":"AAPL","note":"` + long + `","price":11}`},
		{"status", "{\"state\":\"closed\",\r\"reason\":\"\\r\\n\\u0000\"}"},
	}
}

// recordStream runs /events over a log fed the hostile payloads and
// returns what it wrote on path p: a resume from a bad id (a reset, then
// a snapshot of the payloads, the newest of each subject), every payload
// again live, then the end at shutdown.
func recordStream(t *testing.T, p sse.Path) []byte {
	t.Helper()
	f := newFixture(t, p, 64, Options{})
	payloads := hostilePayloads()
	id := uint64(1795634362649237)
	appendAll := func() {
		for _, p := range payloads {
			var sym struct {
				Symbol string `json:"symbol"`
			}
			if err := json.Unmarshal([]byte(p[1]), &sym); err != nil {
				t.Fatalf("%q: %v", p[1], err)
			}
			if err := f.log.Append(id, p[0], sym.Symbol, []byte(p[1])); err != nil {
				t.Fatal(err)
			}
			id++
		}
	}
	appendAll()

	s := f.srv.Open(t, "/", "Last-Event-ID", "not\u2028an id")
	var wire bytes.Buffer
	r := NewReader(io.TeeReader(s.Response.Body, &wire))
	for _, want := range []string{"reset", "snapshot"} {
		if ev, err := r.Next(); err != nil || ev.Name != want {
			t.Fatalf("got %s %v, want %s", ev.Name, err, want)
		}
	}
	appendAll()
	for range payloads {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}
	f.log.Close() // the server's last words, then the end of the response
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after shutdown: %v, want the end of the stream", err)
	}
	return wire.Bytes()
}

// parseRecorded reads a stream with Reader.
func parseRecorded(t *testing.T, wire []byte) recordedParse {
	t.Helper()
	r := NewReader(bytes.NewReader(wire))
	p := recordedParse{Events: []recordedEvent{}}
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p.Events = append(p.Events, recordedEvent(ev))
	}
	p.Comments, p.Retry = r.Comments, r.Retry
	return p
}

// TestRecordedStream: the recorded stream is still what /events writes,
// byte for byte the same on both paths, and the parse kept beside it is
// still Reader's, so the dashboard's test compares the npm parser with the
// real thing.
func TestRecordedStream(t *testing.T) {
	t.Parallel()
	wire := recordStream(t, sse.Hijacked)
	if h2 := recordStream(t, sse.HTTP2); !bytes.Equal(h2, wire) {
		t.Errorf("the stream over HTTP/2 (%d bytes) is not the hijacked stream's (%d bytes)", len(h2), len(wire))
	}
	parsed := parseRecorded(t, wire)
	if got, want := len(parsed.Events), 2+len(hostilePayloads()); got != want {
		t.Fatalf("%d events, want a reset, a snapshot and the %d payloads", got, want-2)
	}
	for _, ev := range parsed.Events[2:] {
		if !json.Valid([]byte(ev.Data)) {
			t.Errorf("%s %s: data is no longer the JSON it was: %q", ev.ID, ev.Name, ev.Data)
		}
	}
	js, err := json.MarshalIndent(parsed, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	js = append(js, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(recordedStream), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(recordedStream, wire, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(recordedEvents, js, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kept, err := os.ReadFile(recordedStream)
	if err != nil {
		t.Fatalf("%v (go test -run TestRecordedStream -update ./feed writes it)", err)
	}
	if !bytes.Equal(kept, wire) {
		t.Errorf("%s is not what /events writes now (%d bytes, now %d); if the change is meant, go test -run TestRecordedStream -update ./feed",
			recordedStream, len(kept), len(wire))
	}
	keptJS, err := os.ReadFile(recordedEvents)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(keptJS, js) {
		t.Errorf("%s is not Reader's parse of %s; go test -run TestRecordedStream -update ./feed", recordedEvents, recordedStream)
	}
}
