// Command tickertape runs a simulated stock market and streams it live as
// named Server-Sent Events (and a WebSocket twin) to a dashboard it serves
// itself. `tickertape bench` measures SSE against WebSocket.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"tickertape/cluster"
	"tickertape/feed"
	"tickertape/market"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tickertape:", err)
		os.Exit(1)
	}
}

// config is everything the server's flags and environment say.
type config struct {
	addr         string
	market       market.Config
	record       string
	corsOrigins  string
	replay       int
	heartbeat    time.Duration
	writeTimeout time.Duration
	maxStreams   int
	maxSymbols   int
	maxHeader    int
	readHeader   time.Duration
	idle         time.Duration
	grace        time.Duration
	tlsCert      string
	tlsKey       string
	logLevel     string
	pprof        bool
	benchAPI     bool
	cluster      clusterConfig
}

// envFlags gives every flag of fs a default from getenv("TICKERTAPE_<FLAG>")
// (upper case, - as _); a flag on the command line still wins.
func envFlags(fs *flag.FlagSet, getenv func(string) string) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := "TICKERTAPE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" {
			if err := f.Value.Set(v); err != nil {
				// The value may be a broker URL set in the wrong variable.
				errs = append(errs, fmt.Errorf("%s=%q: %w", name, cluster.Redact(v), err))
			}
		}
	})
	return errors.Join(errs...)
}

// redacting writes what the flag package prints (the usage, and errors
// that quote a value it could not parse) without a broker's credentials.
type redacting struct{ w io.Writer }

func (r redacting) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, cluster.RedactText(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("tickertape", flag.ContinueOnError)
	fs.SetOutput(redacting{stderr}) // its errors quote the values they could not parse
	fs.StringVar(&c.addr, "addr", ":8080", "address to listen on")
	fs.StringVar(&c.market.Symbols, "symbols", "", "symbols: a comma list (AAPL,MSFT), or a count of symbols; default: a fixed universe of about 50 named symbols")
	fs.Float64Var(&c.market.Rate, "rate", 25, "quote events per second for the whole market")
	fs.Int64Var(&c.market.Seed, "seed", 1, "random seed: the same seed gives the same market")
	fs.StringVar(&c.market.Source, "source", "sim", `where the market comes from: "sim" (the simulation) or "file:PATH" (play back a CSV or JSONL file)`)
	fs.Float64Var(&c.market.Speed, "speed", 1, "pace of the market against the wall clock, for the simulation and -source file: alike; 1 is real time, 10 ten times faster, 0 as fast as the feed takes events (timestamps then come from the market's own clock)")
	fs.StringVar(&c.market.Session, "session", "", `trading session cycle, open=DURATION,closed=DURATION (see docs/market.md); default: continuous trading`)
	fs.Float64Var(&c.market.HaltPct, "halt-pct", 0, "halt a symbol that moves more than this percent within a short window (0: the default, see docs/market.md)")
	fs.StringVar(&c.record, "record", "", "write the live stream as JSONL to this file, for -source file: to play back")
	fs.StringVar(&c.corsOrigins, "cors-origins", "", `origins allowed to read the API cross-origin, comma separated ("*" for any); default: same origin only`)
	fs.IntVar(&c.replay, "replay", 10000, "how many events the resume buffer holds")
	fs.DurationVar(&c.heartbeat, "heartbeat", 15*time.Second, "the longest silence on a stream before a heartbeat")
	fs.DurationVar(&c.writeTimeout, "write-timeout", 10*time.Second, "drop a client when one write to it blocks this long")
	fs.IntVar(&c.maxStreams, "max-streams", 10000, "open streams (SSE and WebSocket together) before new ones are told to come back later")
	fs.IntVar(&c.maxSymbols, "max-filter-symbols", 1000, "the most symbols one symbols= filter may name")
	fs.IntVar(&c.maxHeader, "max-header-bytes", 64<<10, "the largest request header accepted")
	fs.DurationVar(&c.readHeader, "read-header-timeout", 10*time.Second, "the longest a client may take to send its request headers (against slowloris)")
	fs.DurationVar(&c.idle, "idle-timeout", 2*time.Minute, "close a keep-alive connection idle between requests this long (a live stream is never idle)")
	fs.DurationVar(&c.grace, "grace", 5*time.Second, "how long shutdown waits for requests and streams to end")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "TLS certificate file (with -tls-key: serve HTTPS and HTTP/2)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "TLS key file")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.BoolVar(&c.pprof, "pprof", false, "serve Go's profiler under /debug/pprof/")
	fs.BoolVar(&c.benchAPI, "bench-api", true, "let the dashboard start bench runs in this server (POST /api/bench); false: the job API answers 404")
	clusterFlags(fs, &c.cluster)
	if err := envFlags(fs, getenv); err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errors.New(cluster.RedactText(err.Error()))
	}
	if fs.NArg() > 0 {
		// It may be a broker URL after a flag that takes none
		// (-broker-publish nats://…): shown without its credentials.
		return nil, fmt.Errorf("unexpected argument %q (flags come as -name value; the only subcommand is bench)", cluster.Redact(fs.Arg(0)))
	}
	switch {
	case c.replay < 1:
		return nil, fmt.Errorf("-replay %d: must be at least 1", c.replay)
	case c.heartbeat < 100*time.Millisecond:
		return nil, fmt.Errorf("-heartbeat %s: must be at least 100ms", c.heartbeat)
	case c.writeTimeout <= 0:
		return nil, fmt.Errorf("-write-timeout %s: must be positive", c.writeTimeout)
	case c.maxStreams < 1:
		return nil, fmt.Errorf("-max-streams %d: must be at least 1", c.maxStreams)
	case c.maxSymbols < 1:
		return nil, fmt.Errorf("-max-filter-symbols %d: must be at least 1", c.maxSymbols)
	case c.maxHeader < 4096:
		return nil, fmt.Errorf("-max-header-bytes %d: must be at least 4096", c.maxHeader)
	case c.readHeader <= 0 || c.idle <= 0:
		return nil, errors.New("-read-header-timeout and -idle-timeout must be positive")
	case c.grace <= 0:
		return nil, fmt.Errorf("-grace %s: must be positive", c.grace)
	case (c.tlsCert == "") != (c.tlsKey == ""):
		return nil, errors.New("-tls-cert and -tls-key go together")
	}
	return c, nil
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level %q: use debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// run is the whole program: it returns when ctx is done (after a clean
// shutdown) or on the first error.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "bench" {
		return runBench(ctx, args[1:], getenv, stdout, stderr)
	}
	cfg, logger, err := parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	n, err := newNode(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer n.close() // after the node has stopped: serve waits for it
	return serve(ctx, n, cfg, logger, stdout)
}

// parse reads the flags and the environment, and makes the logger they ask
// for.
func parse(args []string, getenv func(string) string, stderr io.Writer) (*config, *slog.Logger, error) {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return nil, nil, err
	}
	logger, err := newLogger(cfg.logLevel, stderr)
	if err != nil {
		return nil, nil, err
	}
	return cfg, logger, nil
}

// serve listens on -addr and serves n until ctx is done or its market
// source fails, then shuts it down within -grace.
func serve(ctx context.Context, n *node, cfg *config, logger *slog.Logger, stdout io.Writer) error {
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close() // Serve closes it too; this is for the early returns
	if serving, err := n.start(ctx, ln); !serving {
		return err
	}

	scheme := "http"
	if n.tls {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "tickertape: listening on %s://%s\n", scheme, displayAddr(ln.Addr()))
	logger.Info("serving", "addr", ln.Addr().String(), "symbols", len(n.src.Symbols()), "rate", cfg.market.Rate,
		"seed", cfg.market.Seed, "source", sourceName(cfg), "replay", cfg.replay)

	var runErr error
	sourceDone := n.srcDone
	for ctx.Err() == nil && runErr == nil {
		select {
		case <-ctx.Done():
		case err := <-n.serveErr:
			n.stopSource()
			<-n.srcDone
			n.log.Close()
			return fmt.Errorf("serve: %w", err)
		case <-sourceDone:
			sourceDone = nil // it stays closed; do not wake on it again
			if n.srcErr != nil && !errors.Is(n.srcErr, feed.ErrClosed) {
				runErr = fmt.Errorf("market source: %w", n.srcErr)
				logger.Error("market source failed; shutting down", "err", n.srcErr)
			} else {
				// A file source that ran out: keep serving its last state,
				// and say so on the stream, so that no board looks live.
				logger.Info("market source ended; serving its last state")
				if n.srcErr == nil {
					ended := &market.Status{State: "ended", Reason: "the market source ended; its last state stands", TS: market.TS(time.Now().UnixMicro())}
					if err := n.log.Publish(market.EventStatus, "", ended); err != nil && !errors.Is(err, feed.ErrClosed) {
						logger.Warn("could not say the source ended", "err", err)
					}
				}
			}
		}
	}
	logger.Info("shutting down", "grace", cfg.grace)

	// The grace is the whole of it: what outlasts it is cut, and that is
	// still a clean exit. Only a failure to serve is an error.
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.grace)
	defer cancel()
	if cut, err := n.shutdown(shutCtx); err != nil {
		logger.Warn("shutdown: the grace ran out; cut the streams and requests still open", "grace", cfg.grace, "streams", cut, "err", err)
	}
	logger.Info("stopped")
	return runErr
}

func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
