package market

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// listing is a symbol's static description: what /api/symbols shows plus the
// parameters the simulation derives its behaviour from.
type listing struct {
	Symbol
	cap   float64 // market capitalisation, $bn (the weight before normalising)
	price float64 // a typical price level, $
}

// universeTable is the default universe, largest capitalisation first, so
// that Config.Symbols "N" takes the N largest names. Caps and prices are
// round, plausible figures for a simulation, not market data.
var universeTable = [...]struct {
	sym, name, sector string
	beta, cap, price  float64
}{
	{"AAPL", "Apple Inc.", "Technology", 1.2, 3400, 225},
	{"MSFT", "Microsoft Corp.", "Technology", 1.1, 3100, 415},
	{"NVDA", "NVIDIA Corp.", "Technology", 1.7, 3000, 125},
	{"GOOGL", "Alphabet Inc.", "Communication", 1.1, 2000, 165},
	{"AMZN", "Amazon.com Inc.", "Consumer Discretionary", 1.2, 1900, 185},
	{"META", "Meta Platforms Inc.", "Communication", 1.3, 1400, 560},
	{"BRK.B", "Berkshire Hathaway Inc.", "Financials", 0.9, 980, 450},
	{"LLY", "Eli Lilly and Co.", "Health Care", 0.6, 850, 900},
	{"AVGO", "Broadcom Inc.", "Technology", 1.3, 800, 170},
	{"TSLA", "Tesla Inc.", "Consumer Discretionary", 2.0, 800, 250},
	{"WMT", "Walmart Inc.", "Consumer Staples", 0.5, 650, 80},
	{"JPM", "JPMorgan Chase & Co.", "Financials", 1.1, 600, 210},
	{"V", "Visa Inc.", "Financials", 0.9, 560, 280},
	{"UNH", "UnitedHealth Group Inc.", "Health Care", 0.7, 540, 580},
	{"XOM", "Exxon Mobil Corp.", "Energy", 0.9, 510, 115},
	{"MA", "Mastercard Inc.", "Financials", 1.0, 460, 500},
	{"ORCL", "Oracle Corp.", "Technology", 1.0, 450, 160},
	{"PG", "Procter & Gamble Co.", "Consumer Staples", 0.4, 400, 170},
	{"HD", "Home Depot Inc.", "Consumer Discretionary", 1.0, 390, 390},
	{"JNJ", "Johnson & Johnson", "Health Care", 0.5, 390, 160},
	{"COST", "Costco Wholesale Corp.", "Consumer Staples", 0.8, 390, 880},
	{"ABBV", "AbbVie Inc.", "Health Care", 0.6, 340, 190},
	{"BAC", "Bank of America Corp.", "Financials", 1.3, 310, 40},
	{"NFLX", "Netflix Inc.", "Communication", 1.3, 300, 700},
	{"KO", "Coca-Cola Co.", "Consumer Staples", 0.6, 300, 70},
	{"CVX", "Chevron Corp.", "Energy", 1.0, 280, 150},
	{"MRK", "Merck & Co. Inc.", "Health Care", 0.4, 280, 110},
	{"CRM", "Salesforce Inc.", "Technology", 1.2, 260, 270},
	{"AMD", "Advanced Micro Devices Inc.", "Technology", 1.6, 250, 155},
	{"TMUS", "T-Mobile US Inc.", "Communication", 0.6, 250, 210},
	{"ADBE", "Adobe Inc.", "Technology", 1.2, 230, 510},
	{"PEP", "PepsiCo Inc.", "Consumer Staples", 0.5, 230, 170},
	{"LIN", "Linde plc", "Materials", 0.9, 220, 460},
	{"MCD", "McDonald's Corp.", "Consumer Discretionary", 0.7, 210, 290},
	{"CSCO", "Cisco Systems Inc.", "Technology", 0.9, 200, 50},
	{"GE", "GE Aerospace", "Industrials", 1.2, 190, 175},
	{"VZ", "Verizon Communications Inc.", "Communication", 0.5, 180, 43},
	{"CAT", "Caterpillar Inc.", "Industrials", 1.1, 180, 370},
	{"DIS", "Walt Disney Co.", "Communication", 1.1, 170, 95},
	{"PFE", "Pfizer Inc.", "Health Care", 0.6, 165, 29},
	{"GS", "Goldman Sachs Group Inc.", "Financials", 1.4, 160, 500},
	{"NEE", "NextEra Energy Inc.", "Utilities", 0.6, 155, 75},
	{"UNP", "Union Pacific Corp.", "Industrials", 1.0, 140, 235},
	{"HON", "Honeywell International Inc.", "Industrials", 1.0, 135, 210},
	{"COP", "ConocoPhillips", "Energy", 1.1, 130, 110},
	{"NKE", "Nike Inc.", "Consumer Discretionary", 1.0, 120, 80},
	{"BA", "Boeing Co.", "Industrials", 1.4, 110, 160},
	{"PLD", "Prologis Inc.", "Real Estate", 1.0, 110, 120},
	{"SBUX", "Starbucks Corp.", "Consumer Discretionary", 0.9, 105, 92},
	{"AMT", "American Tower Corp.", "Real Estate", 0.8, 100, 215},
	{"INTC", "Intel Corp.", "Technology", 1.1, 95, 22},
	{"DUK", "Duke Energy Corp.", "Utilities", 0.4, 85, 110},
	{"FCX", "Freeport-McMoRan Inc.", "Materials", 1.6, 65, 45},
}

// sectorNames are the sectors generated symbols are drawn from (GICS-like).
var sectorNames = [...]string{
	"Technology", "Communication", "Consumer Discretionary", "Consumer Staples",
	"Health Care", "Financials", "Industrials", "Energy", "Materials",
	"Utilities", "Real Estate",
}

// maxSymbols bounds Config.Symbols so a typo (1e9) is an error, not an OOM.
const maxSymbols = 10000

// known returns the listing for sym, if the universe (or the dear names) has one.
func known(sym string) (listing, bool) {
	for _, u := range universeTable {
		if u.sym == sym {
			return listing{Symbol: Symbol{Symbol: u.sym, Name: u.name, Sector: u.sector, Beta: u.beta}, cap: u.cap, price: u.price}, true
		}
	}
	return knownDear(sym)
}

// generated makes a listing for a symbol the universe does not know. It is a
// pure function of the name, so the same name always gets the same metadata,
// whatever the seed.
func generated(sym string) listing {
	h := fnv.New64a()
	h.Write([]byte(sym))
	r := rand.New(rand.NewPCG(h.Sum64(), 0x7469636b))
	suffixes := [...]string{"Holdings", "Group", "Inc.", "Systems", "Labs", "Industries", "Corp."}
	name := sym
	if len(sym) > 1 {
		name = sym[:1] + strings.ToLower(sym[1:])
	}
	return listing{
		Symbol: Symbol{
			Symbol: sym,
			Name:   name + " " + suffixes[r.IntN(len(suffixes))],
			Sector: sectorNames[r.IntN(len(sectorNames))],
			Beta:   math.Round((0.5+1.2*r.Float64())*100) / 100,
		},
		// Small and mid caps: $2bn to ~$80bn, log-uniform.
		cap:   math.Round(2 * math.Exp(r.Float64()*math.Log(40))),
		price: math.Round(8+r.Float64()*240) + 0.5,
	}
}

// lookup returns the listing for sym: the universe's, or a generated one.
func lookup(sym string) listing {
	if l, ok := known(sym); ok {
		return l
	}
	return generated(sym)
}

// parseSymbols turns Config.Symbols into listings with normalised
// weights. "" is the universe, "N" its first N names then generated ones, a
// comma list exactly those names.
func parseSymbols(spec string) ([]listing, error) {
	spec = strings.TrimSpace(spec)
	var names []string
	switch n, err := strconv.Atoi(spec); {
	case spec == "":
		n = len(universeTable)
		names = countNames(n)
	case err == nil:
		if n < 1 || n > maxSymbols {
			return nil, configError("Symbols", "symbols %q: a count must be 1 to %d", spec, maxSymbols)
		}
		names = countNames(n)
	default:
		seen := map[string]bool{}
		for _, f := range strings.Split(spec, ",") {
			s := strings.ToUpper(strings.TrimSpace(f))
			if err := validSymbol(s); err != nil {
				return nil, configError("Symbols", "symbols: %w", err)
			}
			if seen[s] {
				return nil, configError("Symbols", "symbols: %q is listed twice", s)
			}
			seen[s] = true
			names = append(names, s)
		}
		if len(names) > maxSymbols {
			return nil, configError("Symbols", "symbols: %d symbols, at most %d", len(names), maxSymbols)
		}
	}
	ls := make([]listing, len(names))
	for i, s := range names {
		ls[i] = lookup(s)
	}
	normalise(ls)
	return ls, nil
}

// validSymbol accepts what a ticker looks like and what survives a URL query
// and an SSE field unescaped: 1 to 12 of A-Z, 0-9, '.', '-'.
func validSymbol(s string) error {
	if s == "" || len(s) > 12 {
		return fmt.Errorf("symbol %q: want 1 to 12 characters", s)
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("symbol %q: only A-Z, 0-9, '.' and '-' are allowed", s)
		}
	}
	return nil
}

// countNames returns n names: the universe's first, then generated tickers.
// Generated tickers depend only on n's position, never on the seed.
func countNames(n int) []string {
	names := make([]string, 0, n)
	taken := map[string]bool{}
	for i := 0; i < n && i < len(universeTable); i++ {
		names = append(names, universeTable[i].sym)
		taken[universeTable[i].sym] = true
	}
	r := rand.New(rand.NewPCG(1, 2))
	for len(names) < n {
		l := 3 + r.IntN(2)
		b := make([]byte, l)
		for i := range b {
			b[i] = byte('A' + r.IntN(26))
		}
		s := string(b)
		if !taken[s] {
			taken[s] = true
			names = append(names, s)
		}
	}
	return names
}

// normalise sets each Weight to its share of the total cap.
func normalise(ls []listing) {
	var total float64
	for _, l := range ls {
		total += l.cap
	}
	for i := range ls {
		ls[i].Weight = ls[i].cap / total
	}
}
