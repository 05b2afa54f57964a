package history

import "math"

// series is one symbol's bars at one interval: a ring of at most keep bars.
// The bars are most of what a node holds, so a series keeps them packed,
// in half a Bar's 48 bytes, for as long as every one of them packs (see
// pack): the simulated market's always do. From the first bar that does
// not (a recorded price in fractions of a cent, say), the series holds
// plain Bars instead.
type series struct {
	packed ring[packedBar] // until wide
	plain  ring[Bar]       // once wide
	wide   bool
}

// packedBar is a Bar in 24 bytes: its start in seconds, its prices in
// cents, its volume in shares, each in 32 bits.
type packedBar struct{ t, o, h, l, c, v uint32 }

// pack returns b packed, and whether that is b exactly: whether unpack
// gives back every field of b as it was.
func pack(b Bar) (packedBar, bool) {
	p := packedBar{t: uint32(b.T / 1000), o: cents(b.O), h: cents(b.H), l: cents(b.L), c: cents(b.C), v: uint32(b.V)}
	return p, unpack(p) == b
}

// cents returns price in cents, or 0 (which no bar's price is: add takes
// only prices above 0) when it is not a whole number of them in 32 bits.
func cents(price float64) uint32 {
	n := math.Round(price * 100)
	if !(n >= 1 && n <= math.MaxUint32) || n/100 != price {
		return 0
	}
	return uint32(n)
}

func unpack(p packedBar) Bar {
	return Bar{T: int64(p.t) * 1000, O: float64(p.o) / 100, H: float64(p.h) / 100, L: float64(p.l) / 100, C: float64(p.c) / 100, V: int64(p.v)}
}

func (sr *series) len() int {
	if sr.wide {
		return len(sr.plain.buf)
	}
	return len(sr.packed.buf)
}

// fold adds a trade to the series: to its newest bar when that starts at
// or after t, else as a new bar starting at t. c is price in cents, or 0
// when it has none (see cents).
func (sr *series) fold(t int64, price float64, c uint32, size int64, keep int) {
	if !sr.wide {
		if p := sr.packed.last(); p != nil && t <= int64(p.t)*1000 {
			if v := uint64(p.v) + uint64(size); c != 0 && size >= 0 && v <= math.MaxUint32 {
				p.h, p.l, p.c, p.v = max(p.h, c), min(p.l, c), c, uint32(v)
				return
			}
		} else if c != 0 && t >= 0 && t%1000 == 0 && t/1000 <= math.MaxUint32 && size >= 0 && size <= math.MaxUint32 {
			sr.packed.push(packedBar{t: uint32(t / 1000), o: c, h: c, l: c, c: c, v: uint32(size)}, keep)
			return
		}
		sr.widen()
	}
	if b := sr.plain.last(); b != nil && t <= b.T {
		b.H = max(b.H, price)
		b.L = min(b.L, price)
		b.C = price
		b.V += size
		return
	}
	sr.plain.push(Bar{T: t, O: price, H: price, L: price, C: price, V: size}, keep)
}

// tail appends the newest n bars to out, oldest first.
func (sr *series) tail(out []Bar, n int) []Bar {
	if sr.wide {
		return sr.plain.tail(out, n)
	}
	r := &sr.packed
	n = min(n, len(r.buf))
	for k := len(r.buf) - n; k < len(r.buf); k++ {
		out = append(out, unpack(r.buf[(r.head+k)%len(r.buf)]))
	}
	return out
}

// set makes bars, oldest first, the series' bars.
func (sr *series) set(bars []Bar) {
	if !sr.wide {
		packed := make([]packedBar, 0, len(bars))
		for _, b := range bars {
			p, ok := pack(b)
			if !ok {
				break
			}
			packed = append(packed, p)
		}
		if len(packed) == len(bars) {
			sr.packed = ring[packedBar]{buf: packed}
			return
		}
	}
	sr.packed, sr.plain, sr.wide = ring[packedBar]{}, ring[Bar]{buf: bars}, true
}

// widen moves the series' bars from packed to plain, for good.
func (sr *series) widen() {
	sr.plain = ring[Bar]{buf: sr.tail(nil, sr.len())}
	sr.packed = ring[packedBar]{}
	sr.wide = true
}
