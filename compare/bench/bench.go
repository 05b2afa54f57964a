package bench

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"tickertape/feed"
)

// Target is a server to bench. Stop ends it (nil for a server the bench
// did not start).
type Target struct {
	URL  string // base address, http://host:port or https://host:port
	Stop func() error
	// Shared is true when the server runs in the bench's own process, so
	// its CPU and memory figures include the clients'.
	Shared bool
	// PID, if not 0, is the server's process: its CPU and RSS are read
	// from /proc/PID when its /metrics does not have them.
	PID int
	// RootCAs, if not nil, are the only certificates a TLS client of the
	// target trusts (a bench server's own); nil is the system's.
	RootCAs *x509.CertPool
}

// Side is one column of the result: a transport, the stream it reads and
// the server it reads it from. Sides take turns, one run each, A B A B ….
type Side struct {
	Label     string         // "SSE", "WebSocket", or a name the user gave
	Transport feed.Transport // how the clients read the stream
	// Start returns the server of one run; a fresh one each time when it
	// starts one, so that no run inherits another's heap.
	Start func(ctx context.Context) (Target, error)
	// Starts is true when Start starts a server (the progress says so),
	// false when it names one already running.
	Starts bool
	// Stream is the stream's path and query at the target ("/events?…");
	// "" is /events or /ws with Config.Query. {symbol} becomes one of the
	// server's symbols (GET /api/symbols), a different one per client in
	// turn.
	Stream string
	// PID, if not 0, is the server's process, when Start's Target does
	// not say (a server the bench did not start).
	PID int
	// HTTP2 multiplexes the SSE streams over HTTP/2 connections (TLS
	// only), StreamsPerConn streams on each (0: 100), as a browser does.
	HTTP2          bool
	StreamsPerConn int
}

// Config is one bench.
type Config struct {
	Clients  int           // clients per side
	Duration time.Duration // the measured window of each run
	// Ramp spreads the clients' connects evenly over this much time (0:
	// as fast as 64 dials at a time go); Warmup is waited after the last
	// one connected, before the window.
	Ramp, Warmup time.Duration
	// Rest, if positive, is how long the server's CPU is measured with no
	// client connected, before the clients: the market's own work.
	Rest time.Duration
	// Runs is how many runs each side gets, in turns (A B A B …); 0 is 1.
	Runs int
	// Sides are the columns. When empty, there is one side per transport
	// of Transports, each with a server from Start.
	Sides      []Side
	Transports []feed.Transport
	Start      func(ctx context.Context, transport feed.Transport) (Target, error)
	// Query is added to each stream the bench names itself (a side with no
	// Stream), as the query of /events or /ws: "events=quote".
	Query string
	// Progress, if not nil, is told how the run advances, about once a
	// second. It is called from Run's goroutine.
	Progress func(Progress)
	// Describe, if not empty, says in the result what the target is.
	Describe string
	// Scenario names the preset the load came from, if any.
	Scenario string
	// Rate and Symbols are recorded in the result (the server's market).
	Rate    float64
	Symbols string
	// Notes are added to the result's notes, first.
	Notes []string
}

// Progress is how far a run is.
type Progress struct {
	Transport feed.Transport `json:"transport"` // "" for the bench as a whole
	Label     string         `json:"label,omitempty"`
	Run       int            `json:"run,omitempty"` // 1 … Runs
	Runs      int            `json:"runs,omitempty"`
	// Phase is "starting" (a server), "connecting", "warming up",
	// "running", "measuring memory" or "done".
	Phase      string  `json:"phase"`
	Completion float64 `json:"completion"` // 0 … 100, the whole bench
	Clients    int     `json:"clients"`    // connected now
	// EventsPerSec is what all clients received over the last interval.
	EventsPerSec float64 `json:"eventsPerSec"`
	Elapsed      float64 `json:"elapsedSeconds"` // of this run's measured window
}

// DisplayName is how a transport is named for people: SSE, WebSocket.
func DisplayName(t feed.Transport) string {
	switch t {
	case feed.SSE:
		return "SSE"
	case feed.WS:
		return "WebSocket"
	}
	return t.String()
}

func (cfg *Config) sides() []Side {
	if len(cfg.Sides) > 0 {
		return cfg.Sides
	}
	var out []Side
	for _, tr := range cfg.Transports {
		start := cfg.Start
		out = append(out, Side{Label: DisplayName(tr), Transport: tr, Starts: true,
			Start: func(ctx context.Context) (Target, error) {
				if start == nil {
					return Target{}, errors.New("no target")
				}
				return start(ctx, tr)
			}})
	}
	return out
}

// Run runs the bench: Runs runs of each side, in turns. Each run gets a
// server from its side's Start, Clients clients that connect over Ramp
// and read everything, Warmup, then the measured window (Duration), then
// the server's memory after a forced garbage collection. The result holds
// each figure's median over the runs, with its spread.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	sides := cfg.sides()
	if cfg.Clients < 1 || cfg.Duration <= 0 || len(sides) == 0 {
		return nil, errors.New("compare: bench needs clients, a duration, transports and a target")
	}
	for _, s := range sides {
		if !slices.Contains(feed.Transports(), s.Transport) {
			return nil, fmt.Errorf("compare: unknown transport %q (use sse, ws)", s.Transport)
		}
		if s.Start == nil {
			return nil, fmt.Errorf("compare: side %s has no target", s.Label)
		}
	}
	runs := max(cfg.Runs, 1)
	if err := ensureFiles(filesNeeded(cfg, sides)); err != nil {
		return nil, err
	}
	res := &Result{Date: time.Now().UTC().Truncate(time.Second), Target: cfg.Describe, Clients: cfg.Clients,
		DurationSeconds: cfg.Duration.Seconds(), RampSeconds: cfg.Ramp.Seconds(), WarmupSeconds: cfg.Warmup.Seconds(),
		Runs: runs, Scenario: cfg.Scenario, Query: cfg.Query, Rate: cfg.Rate, Symbols: cfg.Symbols,
		Machine: thisMachine(), Notes: slices.Clone(cfg.Notes)}
	perSide := make([][]TransportResult, len(sides))
	hists := make([]histogram, len(sides))
	var loads []float64
	notes := map[string]bool{}
	turns := runs * len(sides)
	for r := range runs {
		for i, side := range sides {
			t := turn{side: side, index: r*len(sides) + i, of: turns, run: r + 1, runs: runs}
			one, h, err := runTransport(ctx, cfg, t)
			if err != nil {
				return nil, fmt.Errorf("compare: %s, run %d: %w", side.Label, r+1, err)
			}
			res.SharedProcess = res.SharedProcess || one.shared
			perSide[i] = append(perSide[i], one.TransportResult)
			hists[i].merge(h)
			if one.otherLoad != nil {
				loads = append(loads, *one.otherLoad)
			}
			for _, n := range one.notes {
				if !notes[n] {
					notes[n] = true
					res.Notes = append(res.Notes, n)
				}
			}
		}
	}
	for i := range sides {
		tr := aggregate(perSide[i])
		tr.LatencyCDF = hists[i].cdf(120)
		res.Transports = append(res.Transports, tr)
	}
	if len(loads) > 0 {
		m, rg := spread(loads)
		res.Machine.OtherLoadCores, res.Machine.OtherLoadSpread = &m, rg
	}
	res.Verdicts = verdicts(res)
	res.Figures = figureInfo()
	res.Notes = append(res.Notes, explain(res)...)
	if cfg.Progress != nil {
		cfg.Progress(Progress{Phase: "done", Completion: 100})
	}
	return res, nil
}

// filesNeeded is how many files the bench's process holds at once at
// most: a socket per connection of the biggest side, twice that when the
// server shares the process, and some room for the rest.
func filesNeeded(cfg Config, sides []Side) int {
	need := 0
	for _, s := range sides {
		conns := cfg.Clients
		if s.HTTP2 {
			spc := s.StreamsPerConn
			if spc <= 0 {
				spc = 100
			}
			conns = (cfg.Clients + spc - 1) / spc
		}
		if s.PID == os.Getpid() || len(cfg.Sides) == 0 {
			// In-process servers (Config.Start) and a server in this very
			// process hold the other end of every connection.
			conns *= 2
		}
		need = max(need, conns)
	}
	return need + 256
}

// turn is one run of one side.
type turn struct {
	side      Side
	index, of int // this turn among all, for the completion
	run, runs int // 1-based
}

// runResult is one run's figures, and what only the run knows.
type runResult struct {
	TransportResult
	shared    bool
	otherLoad *float64
	notes     []string
}

// streamURL is the stream of the side at base, for client i.
func streamURL(base *url.URL, side Side, query string, symbols []string, i int) *url.URL {
	u := *base
	path := side.Stream
	if path == "" {
		path = "/events"
		if side.Transport == feed.WS {
			path = "/ws"
		}
		if query != "" {
			path += "?" + query
		}
	}
	if len(symbols) > 0 {
		path = strings.ReplaceAll(path, "{symbol}", url.QueryEscape(symbols[i%len(symbols)]))
	}
	p, q, _ := strings.Cut(path, "?")
	u.Path = strings.TrimSuffix(u.Path, "/") + p
	u.RawQuery = q
	if side.Transport == feed.WS {
		u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	}
	return &u
}

// perMillion divides a CPU time among millions of deliveries: seconds per
// million, which is µs per delivery.
func perMillion(cpu, delivered float64) *float64 {
	if delivered <= 0 {
		return nil
	}
	return ptr(round(cpu / (delivered / 1e6)))
}

func ptr(v float64) *float64 { return &v }

// round keeps three significant decimals, enough for a table and JSON that
// reads well; NaN (no samples) becomes 0.
func round(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	if a := math.Abs(x); a >= 100 {
		return math.Round(x*10) / 10
	}
	return math.Round(x*1000) / 1000
}
