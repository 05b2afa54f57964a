package market

import "math"

// Score cadence and windows. A symbol is sampled every scoreEvery (the
// symbols staggered across that interval); every window below is in
// samples of that cadence, so the weights are constants.
const (
	scoreEvery = 5_000_000 // µs between two scores of one symbol

	fastWindow   = 30.0  // s: the fast moving average and the recent volume rate
	slowWindow   = 300.0 // s: the slow moving average
	volWindow    = 600.0 // s: realized volatility and the usual volume rate
	rsiPeriods   = 14.0  // samples, Wilder's smoothing
	samplePeriod = float64(scoreEvery) / 1e6

	// samplesPerYear annualises the variance of one sample's return:
	// 252 trading days of 6.5 hours.
	samplesPerYear = 252 * 6.5 * 3600 / samplePeriod

	// The composite's scales: a momentum of momScale percent is a strong
	// trend; a volatility above volCalm percent a year damps conviction.
	momScale = 0.25
	volCalm  = 60.0
)

var (
	alphaFast = 1 - math.Exp(-samplePeriod/fastWindow)
	alphaSlow = 1 - math.Exp(-samplePeriod/slowWindow)
	alphaVol  = 1 - math.Exp(-samplePeriod/volWindow)
	alphaRSI  = 1 / rsiPeriods
)

// scorer turns one symbol's price and volume, sampled on the score cadence,
// into a Score. The simulation and the file player both use it, so a score
// means the same whatever the source.
type scorer struct {
	n          int
	last       float64 // last sampled price
	lastVol    int64   // last sampled cumulative volume
	emaF, emaS float64 // moving averages of price
	up, down   float64 // Wilder's averages of gains and losses
	rv         float64 // moving average of squared log returns
	volF, volS float64 // moving averages of volume per sample
}

// sample takes the symbol's last price and its cumulative volume (which may
// restart at zero on a new day).
func (c *scorer) sample(price float64, cumVol int64) {
	if price <= 0 {
		return
	}
	dv := cumVol - c.lastVol
	if dv < 0 {
		dv = cumVol
	}
	c.lastVol = cumVol
	if c.n == 0 {
		c.n = 1
		c.last, c.emaF, c.emaS = price, price, price
		return
	}
	c.n++
	r := math.Log(price / c.last)
	c.last = price
	c.emaF += alphaFast * (price - c.emaF)
	c.emaS += alphaSlow * (price - c.emaS)
	gain, loss := math.Max(r, 0), math.Max(-r, 0)
	c.up += alphaRSI * (gain - c.up)
	c.down += alphaRSI * (loss - c.down)
	c.rv += alphaVol * (r*r - c.rv)
	v := float64(dv)
	if c.n == 2 {
		c.volF, c.volS = v, v
	} else {
		c.volF += alphaFast * (v - c.volF)
		c.volS += alphaVol * (v - c.volS)
	}
}

// primeVolume sets the usual volume per sample, so a fresh scorer does not
// read the first trades as a surge.
func (c *scorer) primeVolume(perSample float64) {
	c.volF, c.volS = perSample, perSample
}

// fill writes the score and its components (not Symbol or TS) into sc.
//
//	momentum    = (EMA30s / EMA5m − 1) × 100           percent
//	rsi         = 100 × gains / (gains + losses)       Wilder, 14 samples
//	volatility  = √(EWMA10m(r²) × samples per year) × 100   percent a year
//	volumeSurge = EWMA30s(volume) / EWMA10m(volume)    1 = usual
//	score = 100 × clamp(−1, 1, (0.45·tanh(momentum/0.25)
//	                            + 0.35·(rsi−50)/50
//	                            + 0.20·tanh(ln volumeSurge)·sign(momentum))
//	                           / (1 + max(0, volatility/60 − 1)))
func (c *scorer) fill(sc *Score) {
	mom := 0.0
	if c.emaS > 0 {
		mom = (c.emaF/c.emaS - 1) * 100
	}
	rsi := 50.0
	if c.up+c.down > 0 {
		rsi = 100 * c.up / (c.up + c.down)
	}
	vol := math.Sqrt(c.rv*samplesPerYear) * 100
	surge := 1.0
	if c.volS > 0 {
		surge = c.volF / c.volS
	}
	conf := 0.0
	if surge > 0 {
		conf = math.Tanh(math.Log(surge))
	}
	switch {
	case mom > 0:
	case mom < 0:
		conf = -conf
	default:
		conf = 0
	}
	raw := 0.45*math.Tanh(mom/momScale) + 0.35*(rsi-50)/50 + 0.20*conf
	raw /= 1 + math.Max(0, vol/volCalm-1)
	raw = math.Max(-1, math.Min(1, raw))
	sc.Score = round(100*raw, 1)
	sc.Momentum = round(mom, 3)
	sc.RSI = round(rsi, 1)
	sc.Volatility = round(vol, 1)
	sc.VolumeSurge = round(surge, 2)
}

// round rounds x to d decimals (d ≤ 4), so the wire carries readable numbers.
func round(x float64, d int) float64 {
	p := [...]float64{1, 10, 100, 1000, 10000}[d]
	return math.Round(x*p) / p
}
