package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"tickertape/feed"
)

// Target is a server to bench. Stop ends it (nil for a server the bench
// did not start).
type Target struct {
	URL  string // base address, http://host:port
	Stop func() error
	// Shared is true when the server runs in the bench's own process, so
	// its CPU and memory figures include the clients'.
	Shared bool
}

// Config is one bench run.
type Config struct {
	Clients    int              // clients per transport
	Duration   time.Duration    // measured time per transport
	Transports []feed.Transport // of feed.Transports, run one after the other
	// Start returns the server one transport's turn runs against. Each
	// transport gets a fresh server when Start starts one, so neither
	// inherits the other's heap.
	Start func(ctx context.Context, transport feed.Transport) (Target, error)
	// Progress, if not nil, is told how the run advances, about once a
	// second. It is called from Run's goroutine.
	Progress func(Progress)
	// Describe, if not empty, says in the result what the target is.
	Describe string
	// Rate and Symbols are recorded in the result (the server's market).
	Rate    float64
	Symbols string
}

// Progress is how far a run is.
type Progress struct {
	Transport feed.Transport `json:"transport"` // "" for the run as a whole
	// Phase is "starting", "connecting", "running" or "done".
	Phase      string  `json:"phase"`
	Completion float64 `json:"completion"` // 0 … 100, the whole run
	Clients    int     `json:"clients"`    // connected now
	// EventsPerSec is what all clients received over the last interval.
	EventsPerSec float64 `json:"eventsPerSec"`
	Elapsed      float64 `json:"elapsedSeconds"` // of this transport's measured time
}

// Result is a bench run's outcome, the same for `tickertape bench -json`
// and the result of a dashboard run's last progress event. Its JSON field
// names are a contract with the dashboard: add fields, never rename them.
//
//	{"date": RFC 3339, "target": "child process …" | URL, "sharedProcess": bool,
//	 "clients": per transport, "durationSeconds", "rate": quotes/s asked (0: the
//	 server's own), "symbols", "transports": [TransportResult…]}
type Result struct {
	Date            time.Time         `json:"date"`
	Target          string            `json:"target"`
	SharedProcess   bool              `json:"sharedProcess"`
	Clients         int               `json:"clients"`
	DurationSeconds float64           `json:"durationSeconds"`
	Rate            float64           `json:"rate"`
	Symbols         string            `json:"symbols"`
	Transports      []TransportResult `json:"transports"`
}

// TransportResult is one transport's row (a column in the table).
//
//   - clientsHeld: clients connected at the end of the measured time.
//   - marketEventsPerSec: events the server published per second (quotes,
//     scores, market, status), from its tickertape_events_published_total.
//   - eventsPerSec: events all clients received per second in the measured
//     time; at most clientsHeld × marketEventsPerSec.
//   - latencyP50Ms, latencyP99Ms, latencyP999Ms, latencyMaxMs: receive time
//     minus the quote's ts, over every quote every client read (≈3 %
//     histogram buckets).
//   - bytesPerEvent: bytes read from the sockets (HTTP headers, chunk or
//     frame headers, payload) over the whole turn ÷ events read.
//   - serverCpuSecondsPerMillionEvents: process_cpu_seconds_total growth in
//     the measured time ÷ millions of events the clients received.
//   - clientCpuSecondsPerMillionEvents: the same of the bench's own process
//     (all its clients together); 0 when the server shares the process.
//   - serverMemoryPerClientBytes: growth of the server's live heap (estimated
//     as go_memstats_next_gc_bytes × 100 / (100 + go_gc_gogc_percent)) from
//     before the clients connected to the end ÷ clientsHeld;
//     serverRssPerClientBytes the same of process_resident_memory_bytes.
//     Both are rough (GC timing): trust them at hundreds of clients. null
//     when the figure did not grow: the clients cost less than the noise.
//   - gaps: ids missing between consecutive market events; duplicates: ids
//     not above the last; resets: reset events (a client that was lapped).
//   - errors: clients that failed to connect or were cut; firstError is one.
type TransportResult struct {
	Transport feed.Transport `json:"transport"`

	ClientsHeld                int      `json:"clientsHeld"`
	MarketEventsPerSec         float64  `json:"marketEventsPerSec"`
	EventsPerSec               float64  `json:"eventsPerSec"`
	LatencyP50Ms               float64  `json:"latencyP50Ms"`
	LatencyP99Ms               float64  `json:"latencyP99Ms"`
	LatencyP999Ms              float64  `json:"latencyP999Ms"`
	LatencyMaxMs               float64  `json:"latencyMaxMs"`
	BytesPerEvent              float64  `json:"bytesPerEvent"`
	ServerCPUPerMillionEvents  float64  `json:"serverCpuSecondsPerMillionEvents"`
	ClientCPUPerMillionEvents  float64  `json:"clientCpuSecondsPerMillionEvents"`
	ServerMemoryPerClientBytes *float64 `json:"serverMemoryPerClientBytes"`
	ServerRSSPerClientBytes    *float64 `json:"serverRssPerClientBytes"`
	Gaps                       int64    `json:"gaps"`
	Duplicates                 int64    `json:"duplicates"`
	Resets                     int64    `json:"resets"`
	Errors                     int      `json:"errors"`
	FirstError                 string   `json:"firstError,omitempty"`
}

// Run runs the bench: for each transport in turn, a server from Start,
// Clients clients that connect and read everything, Duration of
// measurement, then the server's figures from its /metrics.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Clients < 1 || cfg.Duration <= 0 || len(cfg.Transports) == 0 || cfg.Start == nil {
		return nil, errors.New("compare: bench needs clients, a duration, transports and a target")
	}
	res := &Result{Date: time.Now().UTC().Truncate(time.Second), Target: cfg.Describe, Clients: cfg.Clients,
		DurationSeconds: cfg.Duration.Seconds(), Rate: cfg.Rate, Symbols: cfg.Symbols}
	for i, tr := range cfg.Transports {
		if !slices.Contains(feed.Transports(), tr) {
			return nil, fmt.Errorf("compare: unknown transport %q (use sse, ws)", tr)
		}
		tres, shared, err := runTransport(ctx, cfg, i, tr)
		if err != nil {
			return nil, fmt.Errorf("compare: %s: %w", tr, err)
		}
		res.SharedProcess = res.SharedProcess || shared
		res.Transports = append(res.Transports, tres)
	}
	if cfg.Progress != nil {
		cfg.Progress(Progress{Phase: "done", Completion: 100})
	}
	return res, nil
}

func runTransport(ctx context.Context, cfg Config, turn int, tr feed.Transport) (TransportResult, bool, error) {
	out := TransportResult{Transport: tr}
	report := func(p Progress) {
		if cfg.Progress != nil {
			p.Transport = tr
			p.Completion = 100 * (float64(turn) + min(p.Elapsed/cfg.Duration.Seconds(), 1)) / float64(len(cfg.Transports))
			cfg.Progress(p)
		}
	}
	report(Progress{Phase: "starting"})
	tgt, err := cfg.Start(ctx, tr)
	if err != nil {
		return out, false, err
	}
	defer func() {
		if tgt.Stop != nil {
			tgt.Stop()
		}
	}()
	base, err := url.Parse(strings.TrimSuffix(tgt.URL, "/"))
	if err != nil {
		return out, false, err
	}
	m0, err := scrape(ctx, tgt.URL)
	if err != nil {
		return out, false, err
	}

	// Connect every client, at most 64 dials at a time.
	cctx, stopClients := context.WithCancel(ctx)
	defer stopClients()
	clients := make([]*client, cfg.Clients)
	errs := make([]error, cfg.Clients)
	var wg, readyWG sync.WaitGroup
	sem := make(chan struct{}, 64)
	readyWG.Add(cfg.Clients)
	for i := range clients {
		cl := &client{}
		clients[i] = cl
		wg.Go(func() {
			once := sync.OnceFunc(readyWG.Done)
			defer once()
			sem <- struct{}{}
			released := false
			release := func() {
				if !released {
					released = true
					<-sem
				}
			}
			defer release()
			ready := func() { release(); once() }
			if tr == feed.SSE {
				errs[i] = cl.runSSE(cctx, base, ready)
			} else {
				errs[i] = cl.runWS(cctx, base, ready)
			}
			if errs[i] != nil {
				cl.failed.Store(true)
			}
		})
	}
	connected := make(chan struct{})
	go func() { readyWG.Wait(); close(connected) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	// A client that cannot connect in time is left behind, not waited for.
	connectBy := time.NewTimer(30 * time.Second)
	defer connectBy.Stop()
	for waiting := true; waiting; {
		select {
		case <-connected:
			waiting = false
		case <-connectBy.C:
			waiting = false
		case <-tick.C:
			report(Progress{Phase: "connecting", Clients: countConnected(clients)})
		case <-ctx.Done():
			stopClients()
			wg.Wait()
			<-connected
			return out, false, ctx.Err()
		}
	}

	m1, err := scrape(ctx, tgt.URL)
	if err != nil {
		stopClients()
		wg.Wait()
		<-connected
		return out, false, err
	}
	t0 := time.Now()
	cpu0 := selfCPU()
	ev0 := sumEvents(clients)
	last, lastT := ev0, t0
	tick.Reset(time.Second)
	deadline := time.NewTimer(cfg.Duration)
	defer deadline.Stop()
	for running := true; running; {
		select {
		case <-deadline.C:
			running = false
		case now := <-tick.C:
			ev := sumEvents(clients)
			report(Progress{Phase: "running", Clients: countConnected(clients),
				EventsPerSec: float64(ev-last) / now.Sub(lastT).Seconds(), Elapsed: now.Sub(t0).Seconds()})
			last, lastT = ev, now
		case <-ctx.Done():
			running = false
		}
	}
	elapsed := time.Since(t0)
	ev1 := sumEvents(clients)
	cpu1 := selfCPU()
	m2, scrapeErr := scrape(ctx, tgt.URL)
	held := 0
	for i := range clients {
		if clients[i].events.Load() > 0 && !clients[i].failed.Load() {
			held++
		}
	}
	stopClients()
	wg.Wait()
	<-connected // every client has said ready or ended
	if ctx.Err() != nil {
		return out, false, ctx.Err()
	}
	if scrapeErr != nil {
		return out, false, scrapeErr
	}

	var h histogram
	var bytes, events int64
	for i, cl := range clients {
		h.merge(&cl.hist)
		bytes += cl.bytes.Load()
		events += cl.events.Load()
		out.Gaps += cl.gaps
		out.Duplicates += cl.dups
		out.Resets += cl.resets
		if errs[i] != nil {
			out.Errors++
			if out.FirstError == "" {
				out.FirstError = errs[i].Error()
			}
		}
	}
	if held == 0 {
		return out, false, fmt.Errorf("no client connected: %s", out.FirstError)
	}
	secs := elapsed.Seconds()
	delivered := float64(ev1 - ev0)
	out.ClientsHeld = held
	out.MarketEventsPerSec = round((m2.published - m1.published) / secs)
	out.EventsPerSec = round(delivered / secs)
	out.LatencyP50Ms = round(h.quantile(0.5) / 1000)
	out.LatencyP99Ms = round(h.quantile(0.99) / 1000)
	out.LatencyP999Ms = round(h.quantile(0.999) / 1000)
	out.LatencyMaxMs = round(float64(h.max) / 1000)
	if events > 0 {
		out.BytesPerEvent = round(float64(bytes) / float64(events))
	}
	if delivered > 0 {
		out.ServerCPUPerMillionEvents = round((m2.cpu - m1.cpu) / (delivered / 1e6))
		if cpu0 >= 0 && !tgt.Shared {
			out.ClientCPUPerMillionEvents = round((cpu1 - cpu0) / (delivered / 1e6))
		}
	}
	out.ServerMemoryPerClientBytes = perClient(m2.live()-m0.live(), held)
	out.ServerRSSPerClientBytes = perClient(m2.rss-m0.rss, held)
	report(Progress{Phase: "done", Clients: held, Elapsed: cfg.Duration.Seconds()})
	return out, tgt.Shared, nil
}

// perClient divides a memory growth among clients, or says nil when there
// was no growth to divide: a heap that shrank while clients joined tells
// the garbage collector's timing, not what a client costs.
func perClient(growth float64, clients int) *float64 {
	if growth <= 0 || clients == 0 {
		return nil
	}
	v := math.Round(growth / float64(clients))
	return &v
}

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

func sumEvents(cs []*client) int64 {
	var n int64
	for _, c := range cs {
		n += c.events.Load()
	}
	return n
}

func countConnected(cs []*client) int {
	n := 0
	for _, c := range cs {
		if c.events.Load() > 0 && !c.failed.Load() {
			n++
		}
	}
	return n
}

// serverMetrics are the figures read off a server's /metrics.
type serverMetrics struct {
	cpu, rss, published, nextGC, gogc float64
}

// live estimates the live heap at the last GC from the next GC's goal,
// which the runtime sets to about live × (1 + GOGC/100): unlike the heap
// in use, it does not swing with the garbage made since.
func (m serverMetrics) live() float64 {
	g := m.gogc
	if g <= 0 {
		g = 100
	}
	return m.nextGC * 100 / (100 + g)
}

func scrape(ctx context.Context, base string) (serverMetrics, error) {
	var m serverMetrics
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/metrics", nil)
	if err != nil {
		return m, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return m, fmt.Errorf("reading the server's metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return m, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	found := 0
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 16<<20))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		var dst *float64
		switch name {
		case "process_cpu_seconds_total":
			dst = &m.cpu
		case "process_resident_memory_bytes":
			dst = &m.rss
		case "tickertape_events_published_total":
			dst = &m.published
		case "go_memstats_next_gc_bytes":
			dst = &m.nextGC
		case "go_gc_gogc_percent":
			dst = &m.gogc
		default:
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			*dst = v
			found++
		}
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("reading the server's metrics: %w", err)
	}
	if found < 5 {
		return m, errors.New("the server's /metrics lacks process_cpu_seconds_total, process_resident_memory_bytes, go_memstats_next_gc_bytes, go_gc_gogc_percent or tickertape_events_published_total")
	}
	return m, nil
}

// WriteTable prints the result for people: one column per transport.
func (r *Result) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "tickertape bench, %s: %d clients per transport, %s each", r.Date.Format("2006-01-02 15:04 MST"),
		r.Clients, time.Duration(r.DurationSeconds*float64(time.Second)))
	if r.Rate > 0 {
		fmt.Fprintf(w, ", market rate %g quotes/s", r.Rate)
	}
	if r.Symbols != "" {
		fmt.Fprintf(w, ", symbols %s", r.Symbols)
	}
	fmt.Fprintf(w, "\nserver: %s", r.Target)
	if r.SharedProcess {
		fmt.Fprint(w, " (in the bench's process: server CPU and memory include the clients)")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(label string, cell func(t TransportResult) string) {
		fmt.Fprint(tw, label+"\t")
		for _, t := range r.Transports {
			fmt.Fprint(tw, cell(t)+"\t")
		}
		fmt.Fprintln(tw)
	}
	f := func(x float64, prec int) string { return strconv.FormatFloat(x, 'f', prec, 64) }
	row("", func(t TransportResult) string { return t.Transport.String() })
	row("clients held", func(t TransportResult) string { return fmt.Sprintf("%d/%d", t.ClientsHeld, r.Clients) })
	row("market events/s", func(t TransportResult) string { return f(t.MarketEventsPerSec, 0) })
	row("events/s delivered", func(t TransportResult) string { return f(t.EventsPerSec, 0) })
	row("latency p50 (ms)", func(t TransportResult) string { return f(t.LatencyP50Ms, 2) })
	row("latency p99 (ms)", func(t TransportResult) string { return f(t.LatencyP99Ms, 2) })
	row("latency p99.9 (ms)", func(t TransportResult) string { return f(t.LatencyP999Ms, 2) })
	row("latency max (ms)", func(t TransportResult) string { return f(t.LatencyMaxMs, 2) })
	row("bytes on the wire / event", func(t TransportResult) string { return f(t.BytesPerEvent, 1) })
	row("server CPU s / million events", func(t TransportResult) string { return f(t.ServerCPUPerMillionEvents, 2) })
	row("client CPU s / million events", func(t TransportResult) string { return f(t.ClientCPUPerMillionEvents, 2) })
	kib := func(v *float64) string {
		if v == nil {
			return "below noise"
		}
		return f(*v/1024, 1)
	}
	row("server live heap / client (KiB)", func(t TransportResult) string { return kib(t.ServerMemoryPerClientBytes) })
	row("server RSS / client (KiB)", func(t TransportResult) string { return kib(t.ServerRSSPerClientBytes) })
	row("gaps / duplicates / resets", func(t TransportResult) string {
		return fmt.Sprintf("%d/%d/%d", t.Gaps, t.Duplicates, t.Resets)
	})
	row("client errors", func(t TransportResult) string { return strconv.Itoa(t.Errors) })
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, t := range r.Transports {
		if t.FirstError != "" {
			fmt.Fprintf(w, "%s: first client error: %s\n", t.Transport, t.FirstError)
		}
	}
	return nil
}

// ServerConfig is the server a bench starts for each transport's turn: its
// market, and room for the clients.
type ServerConfig struct {
	Rate       float64 // quote events per second, as the server's -rate
	Symbols    string  // as the server's -symbols; "" is its default universe
	Seed       int64   // the market's seed, as the server's -seed
	MaxStreams int     // as the server's -max-streams; 0 is its default
}

// StartFunc starts a server inside this process, as sc says, and returns
// it as a Target whose Stop shuts it down and waits for it. The program's
// own node constructor is one (package main hands it to [JobsOptions]), so
// that a run from the dashboard benches the very server tickertape runs;
// this package cannot import main.
type StartFunc func(ctx context.Context, sc ServerConfig) (Target, error)

// InProcess returns a Config.Start that starts a fresh server with start
// for each transport's turn. The server shares the bench's process: its
// CPU and memory figures include the clients' (Target.Shared).
func InProcess(start StartFunc, sc ServerConfig) func(context.Context, feed.Transport) (Target, error) {
	return func(ctx context.Context, _ feed.Transport) (Target, error) {
		t, err := start(ctx, sc)
		if err != nil {
			return Target{}, err
		}
		t.Shared = true
		return t, nil
	}
}
