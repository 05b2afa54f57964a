package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"tickertape/compare/bench"
)

// benchConfig is what `tickertape bench`'s flags say.
type benchConfig struct {
	url        string
	clients    int
	duration   time.Duration
	rate       float64
	symbols    string
	seed       int64
	transports []string
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
	for _, t := range splitList(transports) {
		t = strings.ToLower(t)
		if !slices.Contains(bench.Transports(), t) {
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
		cfg.Start = func(context.Context, string) (bench.Target, error) { return bench.Target{URL: u}, nil }
	} else {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench: finding this program to start the server: %w", err)
		}
		cfg.Rate, cfg.Symbols = c.rate, c.symbols
		cfg.Describe = "a child process of this binary, one per transport (tickertape -rate " +
			strconv.FormatFloat(c.rate, 'g', -1, 64) + " -symbols " + c.symbols + ")"
		cfg.Start = func(ctx context.Context, _ string) (bench.Target, error) {
			return startChild(ctx, exe, "-addr", "127.0.0.1:0", "-rate", strconv.FormatFloat(c.rate, 'g', -1, 64),
				"-symbols", c.symbols, "-seed", strconv.FormatInt(c.seed, 10), "-log-level", "warn",
				"-max-streams", strconv.Itoa(c.clients+100))
		}
	}
	cfg.Progress = progressPrinter(stderr, c.duration)
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

// progressPrinter returns a Progress func that writes one line a second on
// stderr: rewritten in place (\r) on a terminal, plain lines otherwise.
func progressPrinter(w io.Writer, d time.Duration) func(bench.Progress) {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return func(p bench.Progress) {
		var line string
		switch p.Phase {
		case "starting":
			line = fmt.Sprintf("bench %s: starting the server", p.Transport)
		case "connecting":
			line = fmt.Sprintf("bench %s: %d clients connected", p.Transport, p.Clients)
		case "running":
			line = fmt.Sprintf("bench %s: %3.0f%%  %4.1fs/%s  %d clients  %.0f events/s", p.Transport,
				p.Completion, p.Elapsed, d, p.Clients, p.EventsPerSec)
		case "done":
			if p.Transport == "" {
				if tty {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			}
			line = fmt.Sprintf("bench %s: done, %d clients held", p.Transport, p.Clients)
		}
		if tty {
			fmt.Fprint(w, "\r\033[K"+line)
		} else {
			fmt.Fprintln(w, line)
		}
	}
}

// startChild starts the server binary exe with args and waits for its
// "listening on" line. Stop interrupts it (a clean shutdown) and waits.
func startChild(ctx context.Context, exe string, args ...string) (bench.Target, error) {
	cmd := exec.Command(exe, args...)
	// The child is exactly what the bench's flags say: no TICKERTAPE_*
	// setting meant for a server (a TLS certificate, a source file) leaks in.
	cmd.Env = []string{} // not nil, which would mean "inherit everything"
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TICKERTAPE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return bench.Target{}, err
	}
	var errBuf syncBuffer
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		return bench.Target{}, fmt.Errorf("bench: starting the server: %w", err)
	}
	waitCh := make(chan error, 1)
	urlCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), "listening on "); ok {
				urlCh <- strings.TrimSpace(u)
				break
			}
		}
		io.Copy(io.Discard, out) // keep the pipe drained
		waitCh <- cmd.Wait()
	}()
	stop := func() error {
		cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-waitCh:
			return err
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			return errors.Join(errors.New("bench: the server did not stop in 15s; killed"), <-waitCh)
		}
	}
	select {
	case u := <-urlCh:
		return bench.Target{URL: u, Stop: stop}, nil
	case err := <-waitCh:
		return bench.Target{}, fmt.Errorf("bench: the server exited (%v): %s", err, bytes.TrimSpace(errBuf.Bytes()))
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-waitCh
		return bench.Target{}, errors.New("bench: the server did not say where it listens within 30s")
	case <-ctx.Done():
		cmd.Process.Kill()
		<-waitCh
		return bench.Target{}, ctx.Err()
	}
}

// syncBuffer is a bytes.Buffer safe for the child's stderr copier and a
// reader, bounded so a chatty child cannot grow it without end.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < 64<<10 {
		b.buf.Write(p)
	}
	return len(p), nil
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.buf.Bytes())
}

func (b *syncBuffer) String() string { return string(b.Bytes()) }
