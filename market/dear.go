package market

// dearTable lists known names whose shares trade at $1,000 and more. They
// are not in the default universe (whose size and order the tests and the
// index rely on); a -symbols list that names them gets their metadata, so
// that a dashboard can be tried with four-, five- and six-figure prices.
// Caps and prices are round, plausible figures, not market data.
var dearTable = [...]struct {
	sym, name, sector string
	beta, cap, price  float64
}{
	{"BRK.A", "Berkshire Hathaway Inc. Class A", "Financials", 0.9, 400, 650000},
	{"NVR", "NVR Inc.", "Consumer Discretionary", 1.0, 25, 8000},
	{"BKNG", "Booking Holdings Inc.", "Consumer Discretionary", 1.3, 160, 4800},
	{"AZO", "AutoZone Inc.", "Consumer Discretionary", 0.7, 55, 3100},
	{"FICO", "Fair Isaac Corp.", "Technology", 1.2, 45, 1900},
	{"WTM", "White Mountains Insurance Group", "Financials", 0.6, 5, 1800},
	{"MKL", "Markel Group Inc.", "Financials", 0.8, 22, 1600},
	{"MTD", "Mettler-Toledo International Inc.", "Health Care", 1.1, 28, 1350},
	{"TDG", "TransDigm Group Inc.", "Industrials", 1.2, 75, 1300},
}

// knownDear returns the listing of a dear name, if sym is one.
func knownDear(sym string) (listing, bool) {
	for _, u := range dearTable {
		if u.sym == sym {
			return listing{Symbol: Symbol{Symbol: u.sym, Name: u.name, Sector: u.sector, Beta: u.beta}, cap: u.cap, price: u.price}, true
		}
	}
	return listing{}, false
}
