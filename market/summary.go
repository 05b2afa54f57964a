package market

// indexBase is the index level at the first previous close.
const indexBase = 4000.0

// book is one symbol's trading day as the market shows it: the last Quote
// (day open/high/low/prevClose/volume included) and whether it is halted.
type book struct {
	q      Quote
	halted bool
}

// setPrice records a trade at price (dollars) of size shares in b's day.
func (b *book) setPrice(price float64, size int64) {
	q := &b.q
	if q.Open == 0 {
		q.Open, q.High, q.Low = price, price, price
	}
	if q.PrevClose == 0 {
		q.PrevClose = price
	}
	q.Price = price
	q.High = max(q.High, price)
	q.Low = min(q.Low, price)
	q.Change = round(price-q.PrevClose, 2)
	q.ChangePct = round((price/q.PrevClose-1)*100, 3)
	q.Size = size
	q.Volume += size
}

// newDay closes b's day: the last price becomes the previous close, and the
// next trade opens the day.
func (b *book) newDay() {
	q := &b.q
	if q.Price > 0 {
		q.PrevClose = q.Price
	}
	q.Open, q.High, q.Low, q.Volume, q.Size = 0, 0, 0, 0, 0
}

// summary computes Market events from the books. The simulation and the file
// player share it, so an index means the same whatever the source.
type summary struct {
	weight  []float64 // per symbol, sums to 1
	sector  []int     // per symbol, index into mk.Sectors
	base    float64   // index level at the previous close
	sectors []Sector  // reused between events
}

func newSummary(ls []listing) *summary {
	s := &summary{base: indexBase}
	idx := map[string]int{}
	for _, l := range ls {
		i, ok := idx[l.Sector]
		if !ok {
			i = len(s.sectors)
			idx[l.Sector] = i
			s.sectors = append(s.sectors, Sector{Sector: l.Sector})
		}
		s.weight = append(s.weight, l.Weight)
		s.sector = append(s.sector, i)
	}
	return s
}

// fill writes the summary of books into mk (not TS or Session). mk.Sectors is
// s's own slice, reused by the next call.
//
// The index is cap-weighted on each symbol's return since its previous close:
// index = base × Σ wᵢ·priceᵢ/prevCloseᵢ, so changePct = Σ wᵢ·changePctᵢ.
func (s *summary) fill(mk *Market, books []book) {
	for i := range s.sectors {
		s.sectors[i] = Sector{Sector: s.sectors[i].Sector}
	}
	*mk = Market{Session: mk.Session}
	rel := 0.0
	for i := range books {
		q := &books[i].q
		w := s.weight[i]
		sec := &s.sectors[s.sector[i]]
		sec.Weight += w
		r := 1.0
		if q.PrevClose > 0 && q.Price > 0 {
			r = q.Price / q.PrevClose
		}
		rel += w * r
		sec.ChangePct += w * (r - 1)
		if books[i].halted {
			mk.Halted++
		}
		switch {
		case r > 1:
			mk.Advancers++
			sec.Advancers++
		case r < 1:
			mk.Decliners++
			sec.Decliners++
		default:
			mk.Unchanged++
		}
	}
	for i := range s.sectors {
		sec := &s.sectors[i]
		if sec.Weight > 0 {
			sec.ChangePct = round(sec.ChangePct/sec.Weight*100, 3)
		}
		sec.Weight = round(sec.Weight, 4)
	}
	idx := s.base * rel
	mk.Index = round(idx, 2)
	mk.Change = round(idx-s.base, 2)
	mk.ChangePct = round((rel-1)*100, 3)
	mk.Sectors = s.sectors
}

// newDay makes the current index level the base for the next day's change.
func (s *summary) newDay(books []book) {
	var mk Market
	s.fill(&mk, books)
	s.base = mk.Index
}
