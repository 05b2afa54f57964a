package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"tickertape/compare/bench"
	"tickertape/feed"
)

// benchConfig is what `tickertape bench`'s flags say.
type benchConfig struct {
	url        string
	clients    int
	duration   time.Duration
	rate       float64
	symbols    string
	seed       int64
	transports []feed.Transport
	json       bool
}

func parseBenchConfig(args []string, getenv func(string) string, stderr io.Writer) (*benchConfig, error) {
	c := &benchConfig{}
	var transports string
	fs := flag.NewFlagSet("tickertape bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.url, "url", "", "bench a running server at this http:// address instead of starting one")
	fs.IntVar(&c.clients, "clients", 100, "clients per transport")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "measured time per transport")
	fs.Float64Var(&c.rate, "rate", 2000, "quote events per second of the server the bench starts (not used with -url)")
	fs.StringVar(&c.symbols, "symbols", "50", "symbols of the server the bench starts, as the server's -symbols (not used with -url)")
	fs.Int64Var(&c.seed, "seed", 1, "market seed of the server the bench starts (not used with -url)")
	fs.StringVar(&transports, "transports", "sse,ws", "transports to bench, one after the other: sse, ws or both")
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
	for _, name := range splitList(transports) {
		t := feed.Transport(strings.ToLower(name))
		if !slices.Contains(feed.Transports(), t) {
			return nil, fmt.Errorf("bench: -transports: unknown transport %q (use sse, ws)", t)
		}
		if !slices.Contains(c.transports, t) {
			c.transports = append(c.transports, t)
		}
	}
	switch {
	case len(c.transports) == 0:
		return nil, errors.New("bench: -transports: name sse, ws or both")
	case c.clients < 1 || c.clients > 100000:
		return nil, fmt.Errorf("bench: -clients %d: want 1 to 100000", c.clients)
	case c.duration < 100*time.Millisecond:
		return nil, fmt.Errorf("bench: -duration %s: want at least 100ms", c.duration)
	case c.url == "" && (c.rate <= 0 || c.rate > 1e6):
		return nil, fmt.Errorf("bench: -rate %v: want quote events per second, up to 1e6", c.rate)
	case c.url != "" && !strings.HasPrefix(c.url, "http://"):
		return nil, fmt.Errorf("bench: -url %q: want http://host:port (the bench's clients speak plain HTTP)", c.url)
	}
	return c, nil
}

// runBench runs `tickertape bench`: by default it starts this same binary
// as a child server (so the server's CPU and memory on its /metrics are its
// own, not the clients'), or it aims at -url.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseBenchConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	cfg := bench.Config{Clients: c.clients, Duration: c.duration, Transports: c.transports}
	if c.url != "" {
		u := strings.TrimSuffix(c.url, "/")
		cfg.Describe = u
		cfg.Start = func(context.Context, feed.Transport) (bench.Target, error) { return bench.Target{URL: u}, nil }
	} else {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench: finding this program to start the server: %w", err)
		}
		cfg.Rate, cfg.Symbols = c.rate, c.symbols
		cfg.Describe = "a child process of this binary, one per transport (tickertape -rate " +
			strconv.FormatFloat(c.rate, 'g', -1, 64) + " -symbols " + c.symbols + ")"
		cfg.Start = bench.Child(exe, serverArgs(bench.ServerConfig{Rate: c.rate, Symbols: c.symbols, Seed: c.seed,
			MaxStreams: c.clients + 100})...)
	}
	cfg.Progress = bench.PrintProgress(stderr, c.duration)
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
// market sc asks for, warnings only.
func serverArgs(sc bench.ServerConfig) []string {
	args := []string{"-addr", "127.0.0.1:0", "-rate", strconv.FormatFloat(sc.Rate, 'g', -1, 64),
		"-symbols", sc.Symbols, "-seed", strconv.FormatInt(sc.Seed, 10), "-log-level", "warn"}
	if sc.MaxStreams > 0 {
		args = append(args, "-max-streams", strconv.Itoa(sc.MaxStreams))
	}
	return args
}
