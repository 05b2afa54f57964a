package market

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/small.jsonl from testdata/small.csv")

// play opens source at speed 0 and returns its events as Record writes them.
func play(t *testing.T, cfg Config) []byte {
	t.Helper()
	src, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := src.Run(context.Background(), Record(&buf, nil)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// lines decodes a recording into its lines.
func lines(t *testing.T, b []byte) []recordLine {
	t.Helper()
	var out []recordLine
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var r recordLine
		if err := json.Unmarshal(l, &r); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}

func TestCSVPlaysAsTheSimulationsEvents(t *testing.T) {
	got := play(t, Config{Source: "file:../testdata/small.csv"})
	ls := lines(t, got)
	// The opening picture: 3 quotes, 3 scores, a market event.
	for i, want := range []string{"quote", "quote", "quote", "score", "score", "score", "market"} {
		if ls[i].Event != want {
			t.Fatalf("event %d is %s, want %s", i, ls[i].Event, want)
		}
	}
	var quotes int
	var acme []Quote
	for _, l := range ls {
		if l.Event == EventQuote {
			quotes++
			if l.Symbol == "ACME" {
				var q Quote
				json.Unmarshal(l.Data, &q)
				acme = append(acme, q)
			}
		}
	}
	if quotes != 40 {
		t.Errorf("%d quotes, want one per row: 40", quotes)
	}
	// ACME's first row is 23.08 x 50 with no bid/ask; its second 23.08 x 50
	// at 23.07/23.10.
	a0, a1 := acme[0], acme[1]
	if a0.Price != 23.08 || a0.Open != 23.08 || a0.PrevClose != 23.08 || a0.Volume != 50 || !(a0.Bid < a0.Price && a0.Price < a0.Ask) {
		t.Errorf("first ACME quote %+v: want open = prevClose = price 23.08, volume 50, a spread around it", a0)
	}
	if a1.Bid != 23.07 || a1.Ask != 23.10 || a1.Volume != 100 {
		t.Errorf("second ACME quote %+v: want the file's bid/ask and volume 100", a1)
	}
	if last := ls[len(ls)-1]; last.Event != EventMarket {
		t.Errorf("last event %s, want a closing market event", last.Event)
	}

	if *update {
		os.WriteFile("../testdata/small.jsonl", got, 0o644)
	}
	// The JSONL fixture is this CSV's recording: it plays back to the same
	// events, byte for byte.
	again := play(t, Config{Source: "file:../testdata/small.jsonl"})
	if !bytes.Equal(got, again) {
		t.Fatalf("small.jsonl plays back differently from small.csv (run with -update after a deliberate change)\ncsv:\n%s\njsonl:\n%s", head(got), head(again))
	}
}

func head(b []byte) string {
	l := strings.SplitN(string(b), "\n", 6)
	return strings.Join(l[:min(5, len(l))], "\n")
}

func TestRecordingPlaysBack(t *testing.T) {
	clock := func() time.Time { return time.UnixMicro(t0) }
	src, err := Open(Config{Symbols: "AAPL,MSFT,NEWCO", Rate: 50, Seed: 3, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var rec bytes.Buffer
	n := 0
	sink := Record(&rec, sinkFunc(func(string, string, any) error {
		if n++; n == 5000 {
			cancel()
		}
		return nil
	}))
	if err := src.Run(ctx, sink); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rec.jsonl")
	if err := os.WriteFile(path, rec.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Open(Config{Source: "file:" + path})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Symbols(); len(got) != 3 || got[2].Symbol != "NEWCO" {
		t.Errorf("symbols %v, want AAPL, MSFT, NEWCO", got)
	}
	if back := play(t, Config{Source: "file:" + path}); !bytes.Equal(back, rec.Bytes()) {
		t.Fatalf("the recording played back differently\nrecorded:\n%s\nplayed:\n%s", head(rec.Bytes()), head(back))
	}
}

type sinkFunc func(name, symbol string, data any) error

func (f sinkFunc) Publish(name, symbol string, data any) error { return f(name, symbol, data) }

func TestBadFilesNameTheLine(t *testing.T) {
	const h = "timestamp,symbol,price,size,bid,ask\n"
	const ok = "2024-03-01T14:30:00Z,AAPL,180.00,100,179.99,180.01\n"
	for _, c := range []struct{ name, body, want string }{
		{"bad price", h + ok + ok + "2024-03-01T14:30:01Z,AAPL,abc,100,,\n", "line 4: price"},
		{"negative price", h + ok + "2024-03-01T14:30:01Z,AAPL,-3,100,,\n", "line 3: price"},
		{"bad time", h + ok + "yesterday,AAPL,180,100,,\n", "line 3: timestamp"},
		{"time goes back", h + ok + "2024-03-01T14:29:00Z,AAPL,180,100,,\n", "line 3: timestamp"},
		{"crossed", h + "2024-03-01T14:30:00Z,AAPL,180,100,181,180.5\n", "line 2: bid"},
		{"fractional size", h + "2024-03-01T14:30:00Z,AAPL,180,1.5,,\n", "line 2: size"},
		{"missing field", h + ok + "2024-03-01T14:30:00Z,AAPL,180\n", "line 3"},
		{"bad symbol", h + "2024-03-01T14:30:00Z,AA PL,180,1,,\n", "line 2: symbol"},
		{"no size column", "timestamp,symbol,price\n" + "2024-03-01T14:30:00Z,AAPL,180\n", "line 1: header"},
		{"empty", "", "empty file"},
		{"jsonl garbage", `{"event":"quote","symbol":"A","data":{"symbol":"A","price":1,"ts":1}}` + "\n{oops\n", "line 2"},
		{"jsonl unknown event", `{"event":"trade","data":{}}` + "\n", "line 1: event \"trade\""},
		{"jsonl unknown field", `{"event":"quote","symbol":"A","data":{"symbol":"A","price":1,"ts":1,"px":2}}` + "\n", "line 1: quote"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			os.WriteFile(path, []byte(c.body), 0o644)
			_, err := Open(Config{Source: "file:" + path})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestUnixTimestamps(t *testing.T) {
	for _, s := range []string{"1709303400", "1709303400.000", "1709303400000", "2024-03-01T14:30:00Z", "2024-03-01T09:30:00-05:00"} {
		got, err := parseTime(s)
		if err != nil || got != 1709303400_000000 {
			t.Errorf("parseTime(%q) = %d, %v; want 1709303400000000", s, got, err)
		}
	}
}

func TestSampleCSVOpens(t *testing.T) {
	src, err := Open(Config{Source: "file:../testdata/sample.csv", Speed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(src.Symbols()); n < 3 {
		t.Fatalf("sample.csv has %d symbols", n)
	}
}

var writeSample = flag.Bool("write-sample", false, "rewrite testdata/sample.csv from the simulation")

// TestWriteSample makes testdata/sample.csv: synthetic trades in the shape of
// real data (20 minutes of 5 symbols from the open of a trading day), made by
// the simulation, so `-source file:testdata/sample.csv` has something to show.
func TestWriteSample(t *testing.T) {
	if !*writeSample {
		t.Skip("run with -write-sample to rewrite testdata/sample.csv")
	}
	ls, err := parseSymbols("AAPL,MSFT,NVDA,JPM,XOM")
	if err != nil {
		t.Fatal(err)
	}
	open := time.Date(2024, 3, 1, 14, 30, 0, 0, time.UTC).UnixMicro()
	m := newSim(ls, 2024, 3, 0.05, session{open: 6*3600*second + 1800*second, closed: 3600 * second}, open)
	var b strings.Builder
	b.WriteString("timestamp,symbol,price,size,bid,ask\n")
	for {
		at, name, symbol, data, _ := m.next()
		if at > open+20*minute {
			break
		}
		if q, ok := data.(*Quote); ok && name == EventQuote {
			fmt.Fprintf(&b, "%s,%s,%.2f,%d,%.2f,%.2f\n", time.UnixMicro(at).UTC().Format("2006-01-02T15:04:05.000Z"), symbol, q.Price, q.Size, q.Bid, q.Ask)
		}
	}
	if err := os.WriteFile("../testdata/sample.csv", []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestQuietGapInFile(t *testing.T) {
	// Two trades an hour apart: a few summaries after each, not 3600.
	path := filepath.Join(t.TempDir(), "gap.csv")
	os.WriteFile(path, []byte("timestamp,symbol,price,size\n1709303400,AAPL,180,100\n1709303410,AAPL,181,100\n1709307000,AAPL,179,100\n"), 0o644)
	ls := lines(t, play(t, Config{Source: "file:" + path}))
	var markets, quotes int
	for _, l := range ls {
		switch l.Event {
		case EventMarket:
			markets++
		case EventQuote:
			quotes++
		}
	}
	if quotes != 3 || markets > 20 || markets < 3 {
		t.Fatalf("%d quotes and %d market events for 3 rows across an hour: want 3 and a handful", quotes, markets)
	}
}
