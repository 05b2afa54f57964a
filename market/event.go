package market

import "context"

// Event names, as on the wire (docs/API.md).
const (
	EventQuote  = "quote"
	EventScore  = "score"
	EventMarket = "market"
	EventStatus = "status"
)

// Symbol describes one listed instrument, as served by GET /api/symbols.
type Symbol struct {
	Symbol string  `json:"symbol"`
	Name   string  `json:"name"`
	Sector string  `json:"sector"`
	Beta   float64 `json:"beta"`
	// Weight is the symbol's share of the index (cap weight); all weights sum to 1.
	Weight float64 `json:"weight"`
}

// Quote is the data of a quote event: a symbol traded.
type Quote struct {
	Symbol    string  `json:"symbol"`
	Price     float64 `json:"price"`
	Bid       float64 `json:"bid"`
	Ask       float64 `json:"ask"`
	Open      float64 `json:"open"`
	High      float64 `json:"high"`
	Low       float64 `json:"low"`
	PrevClose float64 `json:"prevClose"`
	Change    float64 `json:"change"`
	ChangePct float64 `json:"changePct"`
	Size      int64   `json:"size"`
	Volume    int64   `json:"volume"`
	TS        float64 `json:"ts"`
}

// Score is the data of a score event: a symbol's composite score, -100 (strong
// sell) to 100 (strong buy), and the components it is made of.
type Score struct {
	Symbol      string  `json:"symbol"`
	Score       float64 `json:"score"`
	Momentum    float64 `json:"momentum"`
	RSI         float64 `json:"rsi"`
	Volatility  float64 `json:"volatility"`
	VolumeSurge float64 `json:"volumeSurge"`
	TS          float64 `json:"ts"`
}

// Sector summarises one sector inside a Market event.
type Sector struct {
	Sector    string  `json:"sector"`
	Weight    float64 `json:"weight"`
	ChangePct float64 `json:"changePct"`
	Advancers int     `json:"advancers"`
	Decliners int     `json:"decliners"`
}

// Market is the data of a market event: the whole market's summary.
type Market struct {
	Index     float64  `json:"index"`
	Change    float64  `json:"change"`
	ChangePct float64  `json:"changePct"`
	Advancers int      `json:"advancers"`
	Decliners int      `json:"decliners"`
	Unchanged int      `json:"unchanged"`
	Halted    int      `json:"halted"`
	Session   string   `json:"session"` // "open" or "closed"
	Sectors   []Sector `json:"sectors,omitempty"`
	TS        float64  `json:"ts"`
}

// Status is the data of a status event: a symbol halts or resumes
// (Symbol set), or the session opens or closes (Symbol empty).
type Status struct {
	Symbol string  `json:"symbol,omitempty"`
	State  string  `json:"state"` // "halted", "trading", "open", "closed"; "ended" is the server's own, when its source ran out
	Reason string  `json:"reason"`
	TS     float64 `json:"ts"`
}

// Sink receives the market's events in order. *feed.Log implements it; the
// market knows nothing of the feed. symbol is "" for events about the whole
// market. data is one of *Quote, *Score, *Market, *Status; the sink must not
// keep it past the call unless it copies it.
type Sink interface {
	Publish(name, symbol string, data any) error
}

// Source is anything that produces a market: the simulation or a recorded
// file. main wires a Source to the feed.
type Source interface {
	// Symbols lists every symbol the source will ever publish, before Run.
	Symbols() []Symbol
	// Run publishes events to sink until ctx is done or the source ends. The
	// first events describe the whole market (a quote and a score for every
	// symbol, then a market event), so a snapshot is complete from the start.
	Run(ctx context.Context, sink Sink) error
}

// TS converts a time to the wire's timestamp: Unix milliseconds with a
// microsecond fraction.
func TS(unixMicro int64) float64 { return float64(unixMicro) / 1000 }
