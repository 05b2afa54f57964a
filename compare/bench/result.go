package bench

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"tickertape/feed"
)

// Result is a bench's outcome, the same for `tickertape bench -json` and
// the result of a dashboard run's last progress event. Its JSON field
// names are a contract with the dashboard: add fields, never rename them.
//
//	{"date": RFC 3339, "target": "child process …" | URL, "sharedProcess": bool,
//	 "scenario", "clients": per side, "runs", "durationSeconds" (the window),
//	 "rampSeconds", "warmupSeconds", "query", "rate": quotes/s asked (0: the
//	 server's own), "symbols", "machine": Machine, "transports":
//	 [TransportResult…] (one per side, in turn order), "verdicts":
//	 [Verdict…] (each side against the first), "figures": [FigureInfo…]
//	 (what each figure is and how it is measured), "notes": [string…]}
type Result struct {
	Date            time.Time         `json:"date"`
	Target          string            `json:"target"`
	SharedProcess   bool              `json:"sharedProcess"`
	Scenario        string            `json:"scenario,omitempty"`
	Clients         int               `json:"clients"`
	Runs            int               `json:"runs"`
	DurationSeconds float64           `json:"durationSeconds"`
	RampSeconds     float64           `json:"rampSeconds"`
	WarmupSeconds   float64           `json:"warmupSeconds"`
	Query           string            `json:"query,omitempty"`
	Rate            float64           `json:"rate"`
	Symbols         string            `json:"symbols"`
	Machine         Machine           `json:"machine"`
	Transports      []TransportResult `json:"transports"`
	Verdicts        []Verdict         `json:"verdicts"`
	Figures         []FigureInfo      `json:"figures"`
	Notes           []string          `json:"notes"`
}

// TransportResult is one side's figures: each the median of its runs
// (counts of gaps, duplicates, resets and errors are totals, clients held
// the fewest), with every run's value and the range in Spread, keyed by
// the figure's JSON name. A figure the bench could not measure is null.
// Result.Figures says how each is measured.
type TransportResult struct {
	Transport feed.Transport `json:"transport"`
	Label     string         `json:"label"`
	URL       string         `json:"url"`      // the first client's stream
	Protocol  string         `json:"protocol"` // HTTP/1.1, HTTP/1.1 (TLS), HTTP/2 (TLS)

	ClientsHeld                int      `json:"clientsHeld"`
	Connections                int      `json:"connections"`
	MarketEventsPerSec         *float64 `json:"marketEventsPerSec"`
	EventsPerSec               float64  `json:"eventsPerSec"`
	LatencyP50Ms               *float64 `json:"latencyP50Ms"`
	LatencyP99Ms               *float64 `json:"latencyP99Ms"`
	LatencyP999Ms              *float64 `json:"latencyP999Ms"`
	LatencyMaxMs               *float64 `json:"latencyMaxMs"`
	BytesPerEvent              float64  `json:"bytesPerEvent"`
	ServerCPUPerMillionEvents  *float64 `json:"serverCpuSecondsPerMillionEvents"`
	ClientCPUPerMillionEvents  float64  `json:"clientCpuSecondsPerMillionEvents"`
	ServerCPUAtRestPercent     *float64 `json:"serverCpuAtRestPercent"`
	EventsPerWrite             *float64 `json:"eventsPerWrite"`
	ServerMemoryPerClientBytes *float64 `json:"serverMemoryPerClientBytes"`
	ServerRSSPerClientBytes    *float64 `json:"serverRssPerClientBytes"`
	Gaps                       int64    `json:"gaps"`
	Duplicates                 int64    `json:"duplicates"`
	Resets                     int64    `json:"resets"`
	Errors                     int      `json:"errors"`
	FirstError                 string   `json:"firstError,omitempty"`

	Sources Sources           `json:"sources"`
	Spread  map[string]*Range `json:"spread"`
	// LatencyCDF is the latency distribution over every run's window, as
	// [ms, fraction at or below] pairs (about 120), for a plot.
	LatencyCDF [][2]float64 `json:"latencyCdf"`
}

// Sources say where the server's figures came from: "metrics" (its
// /metrics), "/proc/PID", "forced GC" (the live heap from
// /debug/pprof/heap?gc=1), "next_gc estimate", or "" (not known).
type Sources struct {
	CPU  string `json:"cpu"`
	RSS  string `json:"rss"`
	Heap string `json:"heap"`
}

// Range is a figure over the runs: the lowest, the highest, and each
// run's value in the order they ran.
type Range struct {
	Min  float64   `json:"min"`
	Max  float64   `json:"max"`
	Runs []float64 `json:"runs"`
}

// Verdict compares one figure of a side with the first side's: within
// noise when the runs' ranges overlap, otherwise by how much the medians
// differ.
type Verdict struct {
	Figure      string   `json:"figure"` // the JSON name
	Label       string   `json:"label"`
	Side        string   `json:"side"`
	Against     string   `json:"against"`
	WithinNoise bool     `json:"withinNoise"`
	DiffPercent *float64 `json:"diffPercent"` // Side's median against Against's, in %
	Text        string   `json:"text"`
}

// FigureInfo says what a figure is: its JSON name, its label in the table,
// its unit, and how it is measured.
type FigureInfo struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Unit  string `json:"unit"`
	How   string `json:"how"`
}

type aggKind int

const (
	aggMedian aggKind = iota
	aggSum            // counts of faults: any one matters
	aggMin            // clients held: the worst run
)

// figure describes one figure of a TransportResult, for aggregation, the
// table and the verdicts alike.
type figure struct {
	FigureInfo
	agg aggKind
	get func(*TransportResult) (float64, bool)
	set func(*TransportResult, float64)
	// verdict phrases a difference: {B} and {A} are the sides, {pct} the
	// difference, {+} the first word of words when B's is larger, the
	// second when smaller. "" for no verdict.
	verdict string
	words   [2]string
}

func f64(field func(*TransportResult) *float64) (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
	return func(t *TransportResult) (float64, bool) { return *field(t), true },
		func(t *TransportResult, v float64) { *field(t) = round(v) }
}

func opt(field func(*TransportResult) **float64) (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
	return func(t *TransportResult) (float64, bool) {
			if p := *field(t); p != nil {
				return *p, true
			}
			return 0, false
		},
		func(t *TransportResult, v float64) { *field(t) = ptr(round(v)) }
}

func integer[T int | int64](field func(*TransportResult) *T) (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
	return func(t *TransportResult) (float64, bool) { return float64(*field(t)), true },
		func(t *TransportResult, v float64) { *field(t) = T(math.Round(v)) }
}

func fig(key, label, unit, how string, agg aggKind, acc func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)), verdict string, words ...string) figure {
	get, set := acc()
	f := figure{FigureInfo: FigureInfo{Key: key, Label: label, Unit: unit, How: how}, agg: agg, get: get, set: set, verdict: verdict}
	copy(f.words[:], words)
	return f
}

const latencyHow = "Time of reading minus the event's ts (the server's clock as it published the event), over every event with a ts that any client read in the window; client and server share the clock."

// figures are every figure of a side, in the table's order.
var figures = []figure{
	fig("clientsHeld", "clients held", "clients", "Clients connected and unbroken at the end of the window (the fewest of the runs).", aggMin,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return integer(func(t *TransportResult) *int { return &t.ClientsHeld })
		}, ""),
	fig("connections", "TCP connections", "connections", "Connections the clients held at the end of the window: one per stream over HTTP/1.1 and WebSocket, one per -streams-per-conn streams over HTTP/2.", aggMedian,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return integer(func(t *TransportResult) *int { return &t.Connections })
		}, ""),
	fig("marketEventsPerSec", "market events/s", "/s", "Events the server published per second in the window (quotes, scores, market, status), from its tickertape_events_published_total; not known for other servers.", aggMedian,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return opt(func(t *TransportResult) **float64 { return &t.MarketEventsPerSec })
		}, ""),
	fig("eventsPerSec", "events delivered/s", "/s", "Events all clients read per second in the window: at most clients × market events/s.", aggMedian,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return f64(func(t *TransportResult) *float64 { return &t.EventsPerSec })
		}, "{B} delivers {pct} {+} events per second than {A}", "more", "fewer"),
	fig("latencyP50Ms", "latency p50", "ms", latencyHow, aggMedian,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return opt(func(t *TransportResult) **float64 { return &t.LatencyP50Ms })
		}, "{B}'s median latency is {pct} {+} than {A}'s", "higher", "lower"),
	fig("latencyP99Ms", "latency p99", "ms", latencyHow, aggMedian,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return opt(func(t *TransportResult) **float64 { return &t.LatencyP99Ms })
		}, "{B}'s p99 latency is {pct} {+} than {A}'s", "higher", "lower"),
	fig("latencyP999Ms", "latency p99.9", "ms", latencyHow, aggMedian,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return opt(func(t *TransportResult) **float64 { return &t.LatencyP999Ms })
		}, "{B}'s p99.9 latency is {pct} {+} than {A}'s", "higher", "lower"),
	fig("latencyMaxMs", "latency max", "ms", latencyHow, aggMedian,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return opt(func(t *TransportResult) **float64 { return &t.LatencyMaxMs })
		}, "{B}'s largest latency is {pct} {+} than {A}'s", "higher", "lower"),
	fig("bytesPerEvent", "bytes on the wire per event", "B", "Bytes read from the sockets in the window (HTTP chunk or WebSocket frame headers, event fields, payload, heartbeats; TLS records over TLS) ÷ events read.", aggMedian,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return f64(func(t *TransportResult) *float64 { return &t.BytesPerEvent })
		}, "{B} uses {pct} {+} bytes per event than {A}", "more", "fewer"),
	fig("serverCpuSecondsPerMillionEvents", "server CPU per delivery", "µs", "The server's CPU time in the window (process_cpu_seconds_total on its /metrics, or /proc/PID with -pid) ÷ events delivered to all clients.", aggMedian,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return opt(func(t *TransportResult) **float64 { return &t.ServerCPUPerMillionEvents })
		}, "{B} costs the server {pct} {+} CPU per delivery than {A}", "more", "less"),
	fig("clientCpuSecondsPerMillionEvents", "client CPU per delivery", "µs", "The bench's own CPU time in the window (all its clients, from its rusage) ÷ events delivered; 0 when the server shares the bench's process.", aggMedian,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return f64(func(t *TransportResult) *float64 { return &t.ClientCPUPerMillionEvents })
		}, "{B} costs the clients {pct} {+} CPU per delivery than {A}", "more", "less"),
	fig("serverCpuAtRestPercent", "server CPU at rest", "% of a core", "The server's CPU with no client connected, measured before the clients: the market and the log alone, the work each event costs once however many clients read it.", aggMedian,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return opt(func(t *TransportResult) **float64 { return &t.ServerCPUAtRestPercent })
		}, ""),
	fig("eventsPerWrite", "events per write", "events", "Events per write to one client in the window (tickertape_batch_events on the server's /metrics): how far a stream's wake-ups batch.", aggMedian,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return opt(func(t *TransportResult) **float64 { return &t.EventsPerWrite })
		}, "{B} sends {pct} {+} events per write than {A}", "more", "fewer"),
	fig("serverMemoryPerClientBytes", "server heap per client", "KiB", "Growth of the server's live heap from before the clients to the end of the window, each read right after a forced GC (/debug/pprof/heap?gc=1), ÷ clients held.", aggMedian,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return opt(func(t *TransportResult) **float64 { return &t.ServerMemoryPerClientBytes })
		}, "{B} holds {pct} {+} server heap per client than {A}", "more", "less"),
	fig("serverRssPerClientBytes", "server RSS per client", "KiB", "Growth of the server's resident memory (process_resident_memory_bytes, or /proc/PID), read after the same GCs, ÷ clients held.", aggMedian,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return opt(func(t *TransportResult) **float64 { return &t.ServerRSSPerClientBytes })
		}, "{B} holds {pct} {+} server RSS per client than {A}", "more", "less"),
	fig("gaps", "gaps", "ids", "Ids missing between two consecutive events of an unfiltered stream, over all runs (a filtered stream's ids skip by design).", aggSum,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return integer(func(t *TransportResult) *int64 { return &t.Gaps })
		}, ""),
	fig("duplicates", "duplicates", "events", "Events whose id was not above the last one's, over all runs.", aggSum,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return integer(func(t *TransportResult) *int64 { return &t.Duplicates })
		}, ""),
	fig("resets", "resets", "events", "Reset events (a client the server lapped), over all runs.", aggSum,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return integer(func(t *TransportResult) *int64 { return &t.Resets })
		}, ""),
	fig("errors", "client errors", "clients", "Clients that failed to connect or were cut, over all runs.", aggSum,
		func() (func(*TransportResult) (float64, bool), func(*TransportResult, float64)) {
			return integer(func(t *TransportResult) *int { return &t.Errors })
		}, ""),
}

func figureInfo() []FigureInfo {
	out := make([]FigureInfo, len(figures))
	for i, f := range figures {
		out[i] = f.FigureInfo
	}
	return out
}

// median of a sorted copy of vs; the mean of the middle two for an even
// count.
func median(vs []float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread returns the median of vs and its range.
func spread(vs []float64) (float64, *Range) {
	return round(median(vs)), &Range{Min: slices.Min(vs), Max: slices.Max(vs), Runs: slices.Clone(vs)}
}

// aggregate folds one side's runs into one TransportResult.
func aggregate(runs []TransportResult) TransportResult {
	out := TransportResult{Transport: runs[0].Transport, Label: runs[0].Label, URL: runs[0].URL,
		Protocol: runs[0].Protocol, Sources: runs[0].Sources, Spread: map[string]*Range{}}
	for _, r := range runs {
		if out.FirstError == "" {
			out.FirstError = r.FirstError
		}
	}
	for _, f := range figures {
		var vs []float64
		for i := range runs {
			if v, ok := f.get(&runs[i]); ok {
				vs = append(vs, v)
			}
		}
		if len(vs) == 0 {
			continue
		}
		m, rg := spread(vs)
		switch f.agg {
		case aggSum:
			m = 0
			for _, v := range vs {
				m += v
			}
		case aggMin:
			m = rg.Min
		}
		f.set(&out, m)
		out.Spread[f.Key] = rg
	}
	return out
}

// verdicts compares every side after the first with the first, figure by
// figure.
func verdicts(r *Result) []Verdict {
	out := []Verdict{}
	if len(r.Transports) < 2 {
		return out
	}
	a := &r.Transports[0]
	for i := 1; i < len(r.Transports); i++ {
		b := &r.Transports[i]
		for _, f := range figures {
			if f.verdict == "" {
				continue
			}
			va, oka := f.get(a)
			vb, okb := f.get(b)
			ra, rb := a.Spread[f.Key], b.Spread[f.Key]
			if !oka || !okb || ra == nil || rb == nil {
				continue
			}
			v := Verdict{Figure: f.Key, Label: f.Label, Side: b.Label, Against: a.Label}
			if va != 0 {
				v.DiffPercent = ptr(round(100 * (vb - va) / math.Abs(va)))
			}
			values := fmt.Sprintf("%s %s, %s %s", a.Label, cell(f, va, ra, r.Runs), b.Label, cell(f, vb, rb, r.Runs))
			switch {
			case r.Runs >= 2 && ra.Min <= rb.Max && rb.Min <= ra.Max:
				v.WithinNoise = true
				v.Text = "within noise: the runs' ranges overlap (" + values + ")"
			case va == vb:
				v.Text = "the same (" + values + ")"
			default:
				word := f.words[0]
				if vb < va {
					word = f.words[1]
				}
				pct := "∞"
				if v.DiffPercent != nil {
					pct = fmtPercent(math.Abs(*v.DiffPercent))
				}
				v.Text = strings.NewReplacer("{B}", b.Label, "{A}", a.Label, "{pct}", pct, "{+}", word).Replace(f.verdict) +
					" (" + values + ")"
				if r.Runs < 2 {
					v.Text += "; one run, so no spread to tell it from noise"
				}
			}
			out = append(out, v)
		}
	}
	return out
}

// explain says what the reader of the figures should know: why CPU per
// delivery depends on the load, the machine's load, what "shared
// process" means, and HTTP/2's WebSocket caveat.
func explain(r *Result) []string {
	var notes []string
	var rest, batch []string
	for _, t := range r.Transports {
		if t.ServerCPUAtRestPercent != nil {
			rest = append(rest, fmt.Sprintf("%s %s %%", t.Label, fmtNum(*t.ServerCPUAtRestPercent, 1)))
		}
		if t.EventsPerWrite != nil {
			batch = append(batch, fmt.Sprintf("%s %s", t.Label, fmtNum(*t.EventsPerWrite, 2)))
		}
	}
	why := "Why server CPU per delivery falls as clients grow: some of the server's work is paid once per event, whoever reads it (the market makes it and the log encodes it"
	if len(rest) > 0 {
		why += ": " + strings.Join(rest, ", ") + " of a core with no client here"
	}
	why += "), and some once per wake-up of a stream, however many events it then writes in one go. " +
		"With more clients the first is shared among more deliveries, and each stream waits longer for a core, so more events pile up per wake-up and leave in one write (batching"
	if len(batch) > 0 {
		why += ": " + strings.Join(batch, ", ") + " events per write here"
	}
	why += "). So compare transports at the same clients × rate, never one load's figure with another's."
	notes = append(notes, why)
	if l := r.Machine.OtherLoadCores; l != nil && *l > 0.25*float64(r.Machine.Cores) {
		notes = append(notes, fmt.Sprintf("The machine was busy: other processes used %s cores of %d during the windows; the figures, latency tails most, are noisier than on a quiet machine.",
			fmtNum(*l, 2), r.Machine.Cores))
	}
	if r.SharedProcess {
		notes = append(notes, "Shared process: the server ran inside the bench's own process, so its CPU and memory figures include the clients' work and memory; run `tickertape bench` from a shell for the server's own.")
	}
	h2, ws := false, false
	for _, t := range r.Transports {
		h2 = h2 || strings.HasPrefix(t.Protocol, "HTTP/2")
		ws = ws || t.Transport == feed.WS
	}
	if h2 && ws {
		notes = append(notes, "WebSocket stays on HTTP/1.1 (over TLS), one connection per stream, as browsers open WebSockets; only SSE is multiplexed over HTTP/2.")
	}
	return notes
}
