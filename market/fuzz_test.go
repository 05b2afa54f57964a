package market

import (
	"bytes"
	"math"
	"os"
	"testing"
)

// FuzzCSV: any input is either refused with an error or plays to the end
// with sane events; it never panics.
func FuzzCSV(f *testing.F) {
	if b, err := os.ReadFile("../testdata/small.csv"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("timestamp,symbol,price,size\n1709303400,A,1,0\n"))
	f.Add([]byte("time,ticker,last,qty,bid,ask\n1709303400000,A,1e-9,1,,\n"))
	// Regression: a 30-year gap between two rows made the player emit a
	// market event for every second of it (a hang); gaps now go quiet.
	f.Add([]byte("time,sYm,priCe,siZe,Bid,Ask\n2,A,1,0,,\n2000-01-01T0:00:00Z,AAA,1,0,1,1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := &Player{}
		if err := p.readCSV(bytes.NewReader(data), ""); err != nil {
			return
		}
		normalise(p.listings)
		st := newCSVStepper(p)
		for {
			_, name, _, d, ok := st.next()
			if !ok {
				break
			}
			checkSane(t, name, d)
		}
	})
}

// FuzzJSONL: the same for recordings.
func FuzzJSONL(f *testing.F) {
	if b, err := os.ReadFile("../testdata/small.jsonl"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"event":"quote","symbol":"A","data":{"symbol":"A","price":1,"ts":1}}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := &Player{}
		if err := p.readJSONL(bytes.NewReader(data)); err != nil {
			return
		}
		for _, e := range p.events {
			if e.name == EventQuote {
				checkSane(t, e.name, e.data)
			}
		}
	})
}

func checkSane(t *testing.T, name string, d any) {
	t.Helper()
	switch v := d.(type) {
	case *Quote:
		if !(v.Price > 0) || v.Bid > v.Ask || math.IsInf(v.ChangePct, 0) || math.IsNaN(v.ChangePct) {
			t.Fatalf("%s: %+v", name, v)
		}
	case *Score:
		if !(v.Score >= -100 && v.Score <= 100) {
			t.Fatalf("%s: %+v", name, v)
		}
	case *Market:
		if math.IsNaN(v.Index) || math.IsInf(v.Index, 0) {
			t.Fatalf("%s: %+v", name, v)
		}
	}
}
