package bench

import (
	"math"
	"math/bits"
)

// A histogram of durations in microseconds with fixed log-linear buckets:
// exact below 64 µs, then 32 buckets per power of two (about 3 % wide), up
// to 2^40 µs. Recording is an index computation and an increment: no
// allocation per event, and per-client histograms merge by addition.
const (
	histExact = 64
	histSub   = 32
	histMaxE  = 35 // 2^(35+6) µs: weeks; longer values are clamped
	histSize  = histExact + histMaxE*histSub
)

type histogram struct {
	counts [histSize]uint64
	n      uint64
	max    uint64
}

func histIndex(us uint64) int {
	if us < histExact {
		return int(us)
	}
	e := bits.Len64(us) - 6 // us>>e is in [32, 64)
	if e > histMaxE {
		return histSize - 1
	}
	return histExact + (e-1)*histSub + int(us>>e) - histSub
}

// histValue returns the middle of bucket i, in µs.
func histValue(i int) float64 {
	if i < histExact {
		return float64(i)
	}
	e := (i-histExact)/histSub + 1
	m := uint64((i-histExact)%histSub + histSub)
	lo, hi := m<<e, (m+1)<<e
	return float64(lo+hi-1) / 2
}

func (h *histogram) record(us uint64) {
	h.counts[histIndex(us)]++
	h.n++
	h.max = max(h.max, us)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the q-quantile (0 < q ≤ 1) in µs, or NaN when empty.
func (h *histogram) quantile(q float64) float64 {
	if h.n == 0 {
		return math.NaN()
	}
	target := uint64(math.Ceil(q * float64(h.n)))
	target = max(target, 1)
	if target >= h.n {
		return float64(h.max)
	}
	var sum uint64
	for i, c := range h.counts {
		sum += c
		if sum >= target {
			return min(histValue(i), float64(h.max))
		}
	}
	return float64(h.max)
}

// histUpper returns the upper edge of bucket i, in µs (exclusive).
func histUpper(i int) float64 {
	if i < histExact {
		return float64(i + 1)
	}
	e := (i-histExact)/histSub + 1
	m := uint64((i-histExact)%histSub + histSub)
	return float64((m + 1) << e)
}

// cdf returns the distribution as at most about points [ms, fraction]
// pairs, the fraction of samples at or below ms, rising to 1 at the
// largest sample; nil when empty. Buckets closer than 1/points in
// fraction are merged, except the first and the last.
func (h *histogram) cdf(points int) [][2]float64 {
	if h.n == 0 {
		return nil
	}
	step := 1 / float64(max(points, 2))
	var out [][2]float64
	var sum uint64
	last := -1.0
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		sum += c
		p := float64(sum) / float64(h.n)
		x := min(histUpper(i), float64(h.max)) / 1000
		if sum == h.n {
			x = float64(h.max) / 1000
		}
		if last < 0 || p-last >= step || sum == h.n {
			out = append(out, [2]float64{round(x), math.Round(p*1e4) / 1e4})
			last = p
		}
		if sum == h.n {
			break
		}
	}
	return out
}
