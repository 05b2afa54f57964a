package market

import (
	"math"
	"testing"
)

// minuteBars runs the default universe for days (6.5-hour days, continuous
// trading) and returns each symbol's and the index's log returns over
// one-minute intervals, sampled from the published quotes and market events.
func minuteBars(t *testing.T, seed int64, days int) (syms [][]float64, index []float64, betas []float64) {
	t.Helper()
	m := newTestSim(t, "", seed, 25)
	n := len(m.syms)
	last := make([]float64, n)
	prev := make([]float64, n)
	syms = make([][]float64, n)
	pos := map[string]int{}
	for i := range m.syms {
		pos[m.books[i].q.Symbol] = i
		betas = append(betas, m.syms[i].l.Beta)
	}
	var idx, prevIdx float64
	next := t0 + minute
	runFor(m, int64(days)*tradingDay, func(at int64, name, symbol string, data any) {
		for at >= next {
			next += minute
			if prevIdx > 0 {
				for i := range last {
					syms[i] = append(syms[i], math.Log(last[i]/prev[i]))
				}
				index = append(index, math.Log(idx/prevIdx))
			}
			copy(prev, last)
			prevIdx = idx
		}
		switch d := data.(type) {
		case *Quote:
			last[pos[symbol]] = d.Price
		case *Market:
			idx = d.Index
		}
	})
	return syms, index, betas
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// acf is the sample autocorrelation of x at lag k.
func acf(x []float64, k int) float64 {
	mu := mean(x)
	var num, den float64
	for i, v := range x {
		den += (v - mu) * (v - mu)
		if i >= k {
			num += (v - mu) * (x[i-k] - mu)
		}
	}
	return num / den
}

func excessKurtosis(x []float64) float64 {
	mu := mean(x)
	var m2, m4 float64
	for _, v := range x {
		d := (v - mu) * (v - mu)
		m2 += d
		m4 += d * d
	}
	m2 /= float64(len(x))
	m4 /= float64(len(x))
	return m4/(m2*m2) - 3
}

func cov(x, y []float64) float64 {
	mx, my := mean(x), mean(y)
	s := 0.0
	for i := range x {
		s += (x[i] - mx) * (y[i] - my)
	}
	return s / float64(len(x))
}

func corr(x, y []float64) float64 { return cov(x, y) / math.Sqrt(cov(x, x)*cov(y, y)) }

// TestStylizedFacts checks the model against the stylized facts of asset
// returns (R. Cont, "Empirical properties of asset returns: stylized facts
// and statistical issues", Quantitative Finance 1, 2001) on one-minute
// returns of three simulated 6.5-hour days.
func TestStylizedFacts(t *testing.T) {
	days := 3
	if testing.Short() {
		days = 1
	}
	syms, index, betas := minuteBars(t, 11, days)
	n := len(syms)
	var kurt float64
	absACF := make([]float64, 6)
	rawACF := make([]float64, 6)
	est := make([]float64, n)
	for i, r := range syms {
		kurt += excessKurtosis(r) / float64(n)
		for k := 1; k <= 5; k++ {
			abs := make([]float64, len(r))
			for j, v := range r {
				abs[j] = math.Abs(v)
			}
			absACF[k] += acf(abs, k) / float64(n)
			rawACF[k] += acf(r, k) / float64(n)
		}
		est[i] = cov(r, index) / cov(index, index)
	}
	t.Logf("%d minutes; mean excess kurtosis %.2f; |r| acf %.3f; r acf %.3f", len(index), kurt, absACF[1:], rawACF[1:])

	// Heavy tails: Cont reports excess kurtosis of intraday returns far above
	// 0 (about 10 or more at 5 minutes for liquid stocks). A Gaussian model
	// gives 0 ± 0.1 on this sample size; ask for a clear 2.
	if kurt < 2 {
		t.Errorf("mean excess kurtosis of one-minute returns %.2f, want > 2 (fat tails)", kurt)
	}
	// Volatility clustering: the autocorrelation of absolute returns is
	// positive and slowly decaying, typically 0.1 to 0.3 at short lags. With
	// no clustering it would be 0 ± 0.01 here (a standard error of about
	// 1/√(minutes·symbols) on the mean); ask for 0.05 at each of lags 1–5.
	for k := 1; k <= 5; k++ {
		if absACF[k] < 0.05 {
			t.Errorf("autocorrelation of |r| at lag %d min is %.3f, want > 0.05 (volatility clustering)", k, absACF[k])
		}
	}
	// Absence of linear autocorrelation: beyond the shortest scales returns
	// are uncorrelated (a small negative lag-1 value from the bid-ask bounce
	// is normal). Ask for |ρ| < 0.05 at lags 1–5: trending or mean-reverting
	// prices would exceed it.
	for k := 1; k <= 5; k++ {
		if math.Abs(rawACF[k]) > 0.05 {
			t.Errorf("autocorrelation of r at lag %d min is %.3f, want |ρ| < 0.05", k, rawACF[k])
		}
	}
	// Betas: regressed on the index, each symbol's beta comes out roughly
	// as configured. Not exactly: the cap-weighted index carries its giants'
	// own moves and its heaviest sector's, so giants read high and the rest
	// a little low (as against a real index), and own volatility storms add
	// noise. So ask for the ranking: estimates correlate with the betas,
	// and high-beta names (β ≥ 1.3) estimate clearly above low-beta ones
	// (β ≤ 0.6). With betas ignored both would be about 0.
	var hi, lo []float64
	for i := range est {
		switch {
		case betas[i] >= 1.3:
			hi = append(hi, est[i])
		case betas[i] <= 0.6:
			lo = append(lo, est[i])
		}
	}
	c := corr(est, betas)
	t.Logf("beta estimates vs betas: corr %.2f; mean estimate %.2f for β ≥ 1.3, %.2f for β ≤ 0.6", c, mean(hi), mean(lo))
	if c < 0.6 {
		t.Errorf("correlation of estimated and configured betas %.2f, want > 0.6", c)
	}
	if mean(hi)-mean(lo) < 0.4 {
		t.Errorf("mean estimated beta %.2f for high-beta names, %.2f for low-beta ones: want a gap of 0.4 or more", mean(hi), mean(lo))
	}
}
