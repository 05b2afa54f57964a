package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"tickertape/compare/bench"
	"tickertape/feed"
)

// benchConfig is what `tickertape bench`'s flags say.
type benchConfig struct {
	urls           []string
	pids           []int
	scenario       string
	clients        int
	duration       time.Duration
	ramp           time.Duration
	warmup         time.Duration
	rest           time.Duration
	runs           int
	rate           float64
	symbols        string
	seed           int64
	query          string
	transports     []feed.Transport
	h2             bool
	streamsPerConn int
	json           bool
}

// listFlag is a flag that may be given more than once.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func parseBenchConfig(args []string, getenv func(string) string, stderr io.Writer) (*benchConfig, error) {
	c := &benchConfig{}
	var transports string
	var urls, pids listFlag
	fs := flag.NewFlagSet("tickertape bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&urls, "url", "bench a running server instead of starting one: a base http://host:port (its /events and /ws), "+
		"or any stream, http(s)://…/events?… (SSE) or ws(s)://… (WebSocket); NAME=URL names its column; repeat it to bench several side by side")
	fs.Var(&pids, "pid", "the -url server's process id: its CPU and RSS are read from /proc/PID when its /metrics has none; once per -url, in order")
	fs.StringVar(&c.scenario, "scenario", "", "a named load: "+strings.Join(bench.ScenarioNames(), ", ")+" (flags given explicitly override it)")
	fs.IntVar(&c.clients, "clients", 100, "clients per side")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "the measured window of each run")
	fs.DurationVar(&c.ramp, "ramp", 0, "spread the clients' connects over this long (0: as fast as 64 dials at a time go)")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "wait this long after the last client connected, before the window")
	fs.DurationVar(&c.rest, "rest", time.Second, "measure the server's CPU with no client this long before connecting (0: do not)")
	fs.IntVar(&c.runs, "runs", 3, "runs per side, taken in turns (A B A B …); each figure is their median and range")
	fs.Float64Var(&c.rate, "rate", 2000, "quote events per second of the server the bench starts (not used with -url)")
	fs.StringVar(&c.symbols, "symbols", "50", "symbols of the server the bench starts, as the server's -symbols (not used with -url)")
	fs.Int64Var(&c.seed, "seed", 1, "market seed of the server the bench starts (not used with -url)")
	fs.StringVar(&c.query, "query", "", `query of each stream the bench names (/events?QUERY, /ws?QUERY), e.g. "events=quote"; {symbol} becomes one of the server's symbols per client`)
	fs.StringVar(&transports, "transports", "sse,ws", "transports to bench, in turn: sse, ws or both")
	fs.BoolVar(&c.h2, "h2", false, "SSE over HTTP/2: the server the bench starts serves TLS with a certificate made in memory, and the SSE clients multiplex their streams (WebSocket stays on HTTP/1.1)")
	fs.IntVar(&c.streamsPerConn, "streams-per-conn", 100, "with -h2: SSE streams per HTTP/2 connection")
	fs.BoolVar(&c.json, "json", false, "print the result as JSON instead of a table")
	if err := envFlags(fs, getenv); err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	c.urls = urls
	for _, p := range pids {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bench: -pid %q: want a process id", p)
		}
		c.pids = append(c.pids, n)
	}
	for _, name := range splitList(transports) {
		t := feed.Transport(strings.ToLower(name))
		if !slices.Contains(feed.Transports(), t) {
			return nil, fmt.Errorf("bench: -transports: unknown transport %q (use sse, ws)", t)
		}
		if !slices.Contains(c.transports, t) {
			c.transports = append(c.transports, t)
		}
	}
	if c.scenario != "" {
		sc, ok := bench.ScenarioNamed(c.scenario)
		if !ok {
			return nil, fmt.Errorf("bench: -scenario %q: use one of %s", c.scenario, strings.Join(bench.ScenarioNames(), ", "))
		}
		c.scenario = sc.Name
		// A flag given on the command line or in the environment wins.
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		fs.VisitAll(func(f *flag.Flag) {
			if getenv("TICKERTAPE_"+strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))) != "" {
				set[f.Name] = true
			}
		})
		apply := func(name string, f func()) {
			if !set[name] {
				f()
			}
		}
		apply("clients", func() { c.clients = sc.Clients })
		apply("rate", func() { c.rate = sc.Rate })
		apply("query", func() { c.query = sc.Query })
		apply("ramp", func() { c.ramp = sc.Ramp })
		apply("warmup", func() { c.warmup = sc.Warmup })
		apply("duration", func() { c.duration = sc.Duration })
	}
	switch {
	case len(c.transports) == 0:
		return nil, errors.New("bench: -transports: name sse, ws or both")
	case c.clients < 1 || c.clients > 100000:
		return nil, fmt.Errorf("bench: -clients %d: want 1 to 100000", c.clients)
	case c.duration < 100*time.Millisecond:
		return nil, fmt.Errorf("bench: -duration %s: want at least 100ms", c.duration)
	case c.ramp < 0 || c.warmup < 0 || c.rest < 0:
		return nil, errors.New("bench: -ramp, -warmup and -rest cannot be negative")
	case c.runs < 1 || c.runs > 100:
		return nil, fmt.Errorf("bench: -runs %d: want 1 to 100", c.runs)
	case len(c.urls) == 0 && (c.rate <= 0 || c.rate > 1e6):
		return nil, fmt.Errorf("bench: -rate %v: want quote events per second, up to 1e6", c.rate)
	case len(c.pids) > 0 && len(c.pids) != len(c.urls):
		return nil, fmt.Errorf("bench: %d -pid for %d -url: give one -pid per -url, in the same order", len(c.pids), len(c.urls))
	case c.streamsPerConn < 1 || c.streamsPerConn > 1000:
		return nil, fmt.Errorf("bench: -streams-per-conn %d: want 1 to 1000", c.streamsPerConn)
	}
	if strings.ContainsAny(c.query, "?#") {
		return nil, fmt.Errorf("bench: -query %q: give the query alone, without ? or #", c.query)
	}
	if _, err := url.ParseQuery(strings.ReplaceAll(c.query, "{symbol}", "X")); err != nil {
		return nil, fmt.Errorf("bench: -query %q: %w", c.query, err)
	}
	for _, u := range c.urls {
		if _, err := parseSide(u); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// urlSide is one -url: its name (if given), the server's base address,
// and its stream (empty for a base address, which stands for both
// transports).
type urlSide struct {
	name      string
	base      string // http(s)://host:port
	stream    string // path and query, or ""
	transport feed.Transport
	tls       bool
}

var namedURL = regexp.MustCompile(`^([^=:/?#]+)=(.*)$`)

func parseSide(raw string) (urlSide, error) {
	var s urlSide
	if m := namedURL.FindStringSubmatch(raw); m != nil {
		s.name, raw = m[1], m[2]
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return s, fmt.Errorf("bench: -url %q: want http://host:port, http(s)://host/stream?… or ws(s)://host/stream?…", raw)
	}
	switch u.Scheme {
	case "http", "https":
		s.transport = feed.SSE
	case "ws", "wss":
		s.transport = feed.WS
	default:
		return s, fmt.Errorf("bench: -url %q: scheme %q: use http, https, ws or wss", raw, u.Scheme)
	}
	s.tls = u.Scheme == "https" || u.Scheme == "wss"
	scheme := "http"
	if s.tls {
		scheme = "https"
	}
	s.base = scheme + "://" + u.Host
	if p := strings.TrimSuffix(u.EscapedPath(), "/"); p != "" || u.RawQuery != "" {
		s.stream = u.EscapedPath()
		if u.RawQuery != "" {
			s.stream += "?" + u.RawQuery
		}
	} else if s.transport == feed.WS {
		s.stream = "" // ws://host alone: its /ws
	} else {
		s.transport = "" // a base address: both transports
	}
	return s, nil
}

// benchSides turns the flags into the bench's columns and says what the
// target is.
func benchSides(c *benchConfig) ([]bench.Side, string, []string, error) {
	var sides []bench.Side
	var notes []string
	if len(c.urls) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, "", nil, fmt.Errorf("bench: finding this program to start the server: %w", err)
		}
		args := serverArgs(bench.ServerConfig{Rate: c.rate, Symbols: c.symbols, Seed: c.seed, MaxStreams: c.clients + 100})
		start := bench.Child(exe, args...)
		describe := "a child process of this binary per run (tickertape " + strings.Join(args[2:], " ") + ")"
		if c.h2 {
			cert, err := bench.NewCertificate()
			if err != nil {
				return nil, "", nil, err
			}
			start = bench.ChildTLS(cert, exe, args...)
			describe = "a child process of this binary per run, serving TLS with a certificate made in memory (tickertape " +
				strings.Join(args[2:], " ") + " -tls-cert … -tls-key …)"
		}
		for _, tr := range c.transports {
			sides = append(sides, bench.Side{Label: bench.DisplayName(tr), Transport: tr, Start: start, Starts: true,
				HTTP2: c.h2 && tr == feed.SSE, StreamsPerConn: c.streamsPerConn})
		}
		return sides, describe, notes, nil
	}
	var describe []string
	for i, raw := range c.urls {
		s, _ := parseSide(raw)
		pid := 0
		if len(c.pids) > 0 {
			pid = c.pids[i]
		}
		if c.h2 && !s.tls {
			return nil, "", nil, fmt.Errorf("bench: -h2 with -url %q: HTTP/2 here needs TLS (https://), as browsers use it", raw)
		}
		trs := []feed.Transport{s.transport}
		if s.transport == "" {
			trs = c.transports
		}
		for _, tr := range trs {
			label := bench.DisplayName(tr)
			switch {
			case s.name != "" && len(trs) > 1:
				label = s.name + " " + label
			case s.name != "":
				label = s.name
			case len(c.urls) > 1:
				label += " " + strings.TrimPrefix(strings.TrimPrefix(s.base, "http://"), "https://")
			}
			target := bench.Target{URL: s.base, PID: pid, Shared: pid == os.Getpid()}
			sides = append(sides, bench.Side{Label: label, Transport: tr, Stream: s.stream, PID: pid,
				Start: func(context.Context) (bench.Target, error) { return target, nil },
				HTTP2: c.h2 && tr == feed.SSE, StreamsPerConn: c.streamsPerConn})
		}
		d := s.base
		if s.stream != "" {
			d += s.stream
		}
		if pid > 0 {
			d += " (pid " + strconv.Itoa(pid) + ")"
		}
		describe = append(describe, d)
	}
	if c.scenario != "" {
		notes = append(notes, fmt.Sprintf("Scenario %s asks for a market of %s quotes/s; with -url the server's own rate applies, so start it with that rate.",
			c.scenario, strconv.FormatFloat(c.rate, 'g', -1, 64)))
	}
	return sides, strings.Join(describe, ", "), notes, nil
}

// runBench runs `tickertape bench`: by default it starts this same binary
// as a child server for each run (so the server's CPU and memory on its
// /metrics are its own, not the clients'), or it aims at each -url.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseBenchConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	sides, describe, notes, err := benchSides(c)
	if err != nil {
		return err
	}
	cfg := bench.Config{Clients: c.clients, Duration: c.duration, Ramp: c.ramp, Warmup: c.warmup, Rest: c.rest,
		Runs: c.runs, Sides: sides, Query: c.query, Describe: describe, Scenario: c.scenario, Notes: notes,
		Progress: bench.PrintProgress(stderr)}
	if len(c.urls) == 0 {
		cfg.Rate, cfg.Symbols = c.rate, c.symbols
	}
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if c.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return res.WriteTable(stdout)
}

// serverArgs are the flags of the server a bench starts, whether a child
// process or a node inside this one (startInProcess): a loopback port, the
// market sc asks for, warnings only, and Go's profiler, through which the
// bench forces a garbage collection before it reads the heap.
func serverArgs(sc bench.ServerConfig) []string {
	args := []string{"-addr", "127.0.0.1:0", "-rate", strconv.FormatFloat(sc.Rate, 'g', -1, 64),
		"-symbols", sc.Symbols, "-seed", strconv.FormatInt(sc.Seed, 10), "-log-level", "warn", "-pprof"}
	if sc.MaxStreams > 0 {
		args = append(args, "-max-streams", strconv.Itoa(sc.MaxStreams))
	}
	return args
}
