package history

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"
)

func TestABarPacksOnlyWhenItUnpacksAsItWas(t *testing.T) {
	cents := Bar{T: 1_700_000_040_000, O: 100.25, H: 101, L: 0.01, C: 42_949_672.95, V: math.MaxUint32}
	if p, ok := pack(cents); !ok || unpack(p) != cents {
		t.Errorf("%+v: packed %v, unpacked %+v", cents, ok, unpack(p))
	}
	for _, c := range []struct {
		why string
		bar func(*Bar)
	}{
		{"a tenth of a cent", func(b *Bar) { b.H = 100.001 }},
		{"a price over 32 bits of cents", func(b *Bar) { b.C = 42_949_672.96 }},
		{"a price under a cent", func(b *Bar) { b.L = 0.004 }},
		{"a volume over 32 bits", func(b *Bar) { b.V = math.MaxUint32 + 1 }},
		{"a negative volume", func(b *Bar) { b.V = -1 }},
		{"a start before 1970", func(b *Bar) { b.T = -60_000 }},
		{"a start after 2106", func(b *Bar) { b.T = (math.MaxUint32 + 1) * 1000 }},
		{"a start in the middle of a second", func(b *Bar) { b.T += 500 }},
	} {
		b := cents
		c.bar(&b)
		if _, ok := pack(b); ok {
			t.Errorf("%s (%+v) packed: it cannot unpack as it was", c.why, b)
		}
	}
}

// wideStore is New's store with every series plain from the start: what
// the store was before it packed bars.
func wideStore(symbols []string, keep int) *Store {
	s := New(symbols, Options{Keep: keep})
	for i := range s.series {
		for k := range s.series[i] {
			s.series[i][k].wide = true
		}
	}
	return s
}

// FuzzPackedBarsAreThePlainBars folds the same trades, some of which do
// not pack, into a store and into one that never packs, and into both
// with half of them as a morning prepended: every interval must give the
// same bars.
func FuzzPackedBarsAreThePlainBars(f *testing.F) {
	f.Add([]byte("\x00\x10\x20\x01\x00\x05\x02\x33\x07\x03\x00\x09\x04\x01\x01\x05\x80\x00"), uint8(4))
	f.Add([]byte("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, keep uint8) {
		var trades []Trade
		ms := 1_700_000_040_000.0
		for len(data) >= 3 {
			op, x, y := data[0], data[1], data[2]
			data = data[3:]
			ms += float64(op%8) * 700 // 0: the same moment
			if op&0x40 != 0 {
				ms -= 9000 // a clock that steps back
			}
			price := float64(1+int(x)*37) / 100 // whole cents
			switch op >> 6 {
			case 2:
				price += 0.001 // a tenth of a cent: does not pack
			case 3:
				price = float64(x) + 0.5
			}
			size := int64(y)
			if op&0x08 != 0 {
				size <<= 26 // volumes past 32 bits, summed
			}
			trades = append(trades, Trade{T: ms, P: price, S: size})
		}
		k := 3 + int(keep%16)
		packed, plain := New([]string{"A"}, Options{Keep: k}), wideStore([]string{"A"}, k)
		late, lateWide := New([]string{"A"}, Options{Keep: k}), wideStore([]string{"A"}, k)
		half := len(trades) / 2
		for j, tr := range trades {
			packed.Add("A", tr.T, tr.P, tr.S)
			plain.Add("A", tr.T, tr.P, tr.S)
			if j >= half {
				late.Add("A", tr.T, tr.P, tr.S)
				lateWide.Add("A", tr.T, tr.P, tr.S)
			}
		}
		var morning []Trade
		for _, tr := range trades[:half] {
			if len(morning) > 0 && tr.T < morning[len(morning)-1].T {
				tr.T = morning[len(morning)-1].T // a morning is in order
			}
			morning = append(morning, tr)
		}
		errLate, errWide := late.Prepend("A", morning), lateWide.Prepend("A", morning)
		if (errLate == nil) != (errWide == nil) {
			t.Fatalf("prepend: %v, never packed: %v", errLate, errWide)
		}
		for _, iv := range Intervals {
			for _, pair := range [][2]*Store{{packed, plain}, {late, lateWide}} {
				got, _ := pair[0].Query("A", iv.Name, MaxLimit)
				want, _ := pair[1].Query("A", iv.Name, MaxLimit)
				if fmt.Sprint(got.Bars) != fmt.Sprint(want.Bars) {
					t.Fatalf("%s: bars %v, never packed %v", iv.Name, got.Bars, want.Bars)
				}
			}
		}
	})
}

// TestASeriesWidensAtItsFirstBarThatDoesNotPack checks the two ways a bar
// stops packing, a trade that changes the newest bar and one that starts a
// bar, and that the bars before are kept as they were.
func TestASeriesWidensAtItsFirstBarThatDoesNotPack(t *testing.T) {
	s := New([]string{"A", "B"}, Options{Keep: 4})
	for k := range 6 {
		s.Add("A", float64(k)*1000, 10+float64(k)/100, 1)
		s.Add("B", float64(k)*1000, 20, 1)
	}
	if s.series[0][0].wide {
		t.Fatal("a series of whole cents went wide")
	}
	s.Add("A", 5400, 10.125, 1) // the newest 1s bar's close
	s.Add("B", 6000, 20, 1<<32) // a new 1s bar, of more than 32 bits of shares
	a, _ := s.Query("A", "1s", 10)
	b, _ := s.Query("B", "1s", 10)
	if !s.series[0][0].wide || !s.series[1][0].wide {
		t.Fatalf("1s series wide: A %v, B %v; want both", s.series[0][0].wide, s.series[1][0].wide)
	}
	wantA := "[{2000 10.02 10.02 10.02 10.02 1} {3000 10.03 10.03 10.03 10.03 1} {4000 10.04 10.04 10.04 10.04 1} {5000 10.05 10.125 10.05 10.125 2}]"
	wantB := "[{3000 20 20 20 20 1} {4000 20 20 20 20 1} {5000 20 20 20 20 1} {6000 20 20 20 20 4294967296}]"
	if fmt.Sprint(a.Bars) != wantA || fmt.Sprint(b.Bars) != wantB {
		t.Errorf("A's bars %v\nwant %s\nB's bars %v\nwant %s", a.Bars, wantA, b.Bars, wantB)
	}
	// The wide bars go on as a ring of 4.
	s.Add("B", 7000, 21, 1)
	if b, _ = s.Query("B", "1s", 10); len(b.Bars) != 4 || b.Bars[0].T != 4000 || b.Bars[3].C != 21 {
		t.Errorf("B's bars after one more: %v", b.Bars)
	}
}

// BenchmarkFold folds a trade into every interval, of bars packed and
// plain: packing must cost next to nothing.
func BenchmarkFold(b *testing.B) {
	for _, c := range []struct {
		name string
		s    *Store
	}{{"packed", New([]string{"A"}, Options{})}, {"plain", wideStore([]string{"A"}, MaxLimit)}} {
		b.Run(c.name, func(b *testing.B) {
			var buf [8]byte
			for k := range b.N {
				binary.LittleEndian.PutUint64(buf[:], uint64(k)*0x9e3779b97f4a7c15)
				c.s.Add("A", float64(k)*50, 100+float64(buf[0])/100, int64(buf[1]))
			}
		})
	}
}
