package bench

import (
	"slices"
	"strings"
	"time"
)

// Scenario is a named load: its shape (clients × the market's quotes per
// second, and what each stream asks for) and the timing that suits it.
// `tickertape bench -scenario NAME` starts from one; any flag given
// explicitly overrides its field.
type Scenario struct {
	Name    string
	Clients int     // per side
	Rate    float64 // the market's quote events per second
	// Query is each stream's query; {symbol} is replaced by one of the
	// server's symbols per client, round robin.
	Query    string
	Ramp     time.Duration // the clients' connects spread over this
	Warmup   time.Duration // after the last connect, before the window
	Duration time.Duration // the measured window
	What     string        // what it shows, one sentence
}

// Scenarios are the named loads, as docs/bench.md lists them. The streams
// ask for quotes only (events=quote), over 50 symbols.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "fanout", Clients: 1000, Rate: 200, Query: "events=quote",
			Ramp: 5 * time.Second, Warmup: 3 * time.Second, Duration: 10 * time.Second,
			What: "a busy page's fan-out: every event to a thousand streams, the cost of one delivery"},
		{Name: "many", Clients: 5000, Rate: 20, Query: "events=quote",
			Ramp: 10 * time.Second, Warmup: 5 * time.Second, Duration: 10 * time.Second,
			What: "many quiet streams: what a held connection costs in memory, and a wake-up per event in CPU"},
		{Name: "burst", Clients: 50, Rate: 5000, Query: "events=quote",
			Ramp: time.Second, Warmup: 2 * time.Second, Duration: 10 * time.Second,
			What: "a few streams under a fast market: how well writes batch, and the tail latency when they must"},
		{Name: "idle", Clients: 5000, Rate: 1, Query: "events=quote",
			Ramp: 10 * time.Second, Warmup: 5 * time.Second, Duration: 20 * time.Second,
			What: "streams that wait: the floor of memory per connection, and what a wake-up costs when there is one event to send"},
		{Name: "filtered", Clients: 5000, Rate: 2000, Query: "events=quote&symbols={symbol}",
			Ramp: 10 * time.Second, Warmup: 5 * time.Second, Duration: 10 * time.Second,
			What: "a watchlist each: 5,000 streams of one symbol of 50 each, so an event must cost work only for the streams that want it"},
	}
}

// ScenarioNamed returns the scenario of that name.
func ScenarioNamed(name string) (Scenario, bool) {
	i := slices.IndexFunc(Scenarios(), func(s Scenario) bool { return s.Name == strings.ToLower(name) })
	if i < 0 {
		return Scenario{}, false
	}
	return Scenarios()[i], true
}

// ScenarioNames lists the scenarios' names, for messages.
func ScenarioNames() []string {
	var names []string
	for _, s := range Scenarios() {
		names = append(names, s.Name)
	}
	return names
}
