package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"tickertape/compare/bench"
	"tickertape/feed"
	"tickertape/history"
	"tickertape/market"
)

// node is one serving tickertape: a market source feeding the log, the hub
// that streams the log, the job runner, and the HTTP server over every
// route. run serves one; a bench run from the dashboard starts one of its
// own inside the process (startInProcess), made by the same newNode.
type node struct {
	// Set at construction, then read-only.
	src     market.Source
	sink    market.Sink  // the log, maybe recorded, maybe published
	cluster *clusterNode // nil on a single node
	record  *os.File     // the -record file, or nil
	log     *feed.Log
	hub     *feed.Hub
	jobs    *bench.Jobs
	srv     *http.Server
	tls     bool // srv serves TLS (read this, not srv.TLSConfig, which Serve changes)

	// Set by start. srcDone is closed when the source's Run has returned;
	// srcErr is set then.
	stopSource context.CancelFunc
	srcDone    chan struct{}
	srcErr     error
	serveErr   chan error // Serve's result
}

// newNode builds a node as cfg says: its market source (openSource), the
// log, the metrics registry, the hub, the job runner and the routes.
// Nothing runs until start; close releases what it holds.
func newNode(ctx context.Context, cfg *config, logger *slog.Logger) (_ *node, err error) {
	src, cn, err := openSource(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	n := &node{src: src, cluster: cn}
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	symbols := src.Symbols()
	names := make([]string, len(symbols))
	for i, s := range symbols {
		names[i] = s.Symbol
	}
	if n.log, err = feed.NewLog(names, cfg.replay, 0); err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(n.log.Collectors()...)
	reg.MustRegister(cn.Collectors()...)
	query := feed.QueryLimits{MaxSymbols: cfg.maxSymbols}
	n.hub = feed.NewHub(n.log, feed.Options{
		Heartbeat:    cfg.heartbeat,
		WriteTimeout: cfg.writeTimeout,
		MaxStreams:   cfg.maxStreams,
		Query:        query,
		Ahead:        cn.Ahead(),
		Metrics:      feed.NewMetrics(reg),
		Logger:       logger,
	})

	n.sink = n.log
	var record io.Writer
	if cfg.record != "" {
		if n.record, err = os.Create(cfg.record); err != nil {
			return nil, fmt.Errorf("-record: %w", err)
		}
		n.sink, record = market.Record(n.record, n.log), n.record
	}
	// Outermost, so that the simulation's morning reaches it (Backfill).
	bars := history.New(names, history.Options{})
	n.sink = bars.Sink(n.sink, n.log.Newest)
	// A broker-fed node's log is fed from the broker, with its ids, and
	// its history takes the morning from there; its market, on a
	// candidate that leads, publishes there.
	cn.Feed(bars.WrapLog(n.log), bars, record)

	// Bench runs from the dashboard; they end when the server shuts down.
	n.jobs = bench.NewJobs(bench.JobsOptions{Done: n.log.Done(), Logger: logger, Server: startInProcess})
	handler, err := routes(routeDeps{
		hub: n.hub, jobs: n.jobs, history: bars.Handler(), trades: bars.TradesHandler(query), symbols: symbols, registry: reg, dist: dashboardFS(),
		corsOrigins: splitList(cfg.corsOrigins), pprof: cfg.pprof, benchAPI: cfg.benchAPI,
		query: query, health: cn.Health,
	})
	if err != nil {
		return nil, err
	}

	var tlsConfig *tls.Config
	if cfg.tlsCert != "" {
		// Load now, so a bad certificate is an error before we listen.
		cert, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("-tls-cert/-tls-key: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	n.tls = tlsConfig != nil
	n.srv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.readHeader,
		IdleTimeout:       cfg.idle,
		MaxHeaderBytes:    cfg.maxHeader,
		TLSConfig:         tlsConfig, // HTTP/2 is offered over it by default
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		// No WriteTimeout: it would cut every healthy stream. Streams set
		// a deadline per write instead.
	}
	// Shutdown starts by ending every stream, so that EventSource and
	// WebSocket clients reconnect, instead of waiting on them.
	n.srv.RegisterOnShutdown(n.log.Close)
	return n, nil
}

// start runs the market source and, once it has published its opening
// picture (so that no client gets an empty snapshot), serves ln. It
// reports false, and serves nothing, when the source ends first (with the
// error why) or ctx does (nil).
func (n *node) start(ctx context.Context, ln net.Listener) (bool, error) {
	srcCtx, stopSource := context.WithCancel(ctx)
	n.stopSource = stopSource
	n.srcDone = make(chan struct{})
	go func() {
		defer close(n.srcDone)
		n.srcErr = n.src.Run(srcCtx, n.sink)
	}()
	if ready, err := n.awaitReady(ctx); !ready {
		if err != nil {
			n.log.Close()
		} else {
			n.stopSource()
			<-n.srcDone
		}
		return false, err
	}
	n.serveErr = make(chan error, 1)
	go func() {
		if n.tls {
			n.serveErr <- n.srv.ServeTLS(ln, "", "")
		} else {
			n.serveErr <- n.srv.Serve(ln)
		}
	}()
	return true, nil
}

// awaitReady waits until the source has published its opening picture
// (the log is ready). Otherwise it reports why not: the source ended first
// (an error), or ctx is done (nil).
func (n *node) awaitReady(ctx context.Context) (bool, error) {
	select {
	case <-n.log.Ready():
		return true, nil
	case <-n.srcDone:
		// A short file played at -speed 0 may be over before we look, and
		// then select picks either case: it is ready all the same.
		if isClosed(n.log.Ready()) {
			return true, nil
		}
		err := n.srcErr
		if err == nil {
			err = errors.New("it ended before its first market summary")
		}
		return false, fmt.Errorf("market source: %w", err)
	case <-ctx.Done():
		return false, nil
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// shutdown stops a started node, in order: the streams (the log closes as
// Shutdown begins) and requests, the streams' goroutines, the job runner,
// then the market source. Streams and requests get until ctx ends; what is
// still open then (a write blocked on a client's full socket, which
// -write-timeout may let last longer) has its connection closed at once.
// It returns how many streams were cut so, and ctx's error if it ended.
func (n *node) shutdown(ctx context.Context) (cut int, err error) {
	err = n.srv.Shutdown(ctx) // closes the listener, ends streams, drains requests
	<-n.serveErr
	if err == nil {
		err = n.hub.Wait(ctx) // hijacked streams too, which Shutdown does not see
	}
	if err != nil {
		cut = n.hub.Cut() // the hijacked streams' sockets
		n.srv.Close()     // every other connection
		// Closed under them, their writes fail at once.
		waitCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		if n.hub.Wait(waitCtx) != nil {
			err = errors.Join(err, errors.New("streams still running after their connections were closed"))
		}
		cancel()
	}
	n.jobs.Close()
	n.stopSource()
	<-n.srcDone
	return cut, err
}

// close releases what newNode took, once the node has stopped or never
// started: it stops the source if it still runs, then the job runner, the
// -record file and the broker connection, which the source may write to.
func (n *node) close() {
	if n.stopSource != nil {
		n.stopSource()
		<-n.srcDone
	}
	if n.jobs != nil {
		n.jobs.Close()
	}
	if n.record != nil {
		n.record.Close()
	}
	n.cluster.Close()
}

// startInProcess is the job runner's bench.StartFunc: a node inside this
// process, made from the flags `tickertape bench` gives its child
// (serverArgs), on a loopback port, its logs discarded.
func startInProcess(ctx context.Context, sc bench.ServerConfig) (bench.Target, error) {
	cfg, err := parseConfig(serverArgs(sc), func(string) string { return "" }, io.Discard)
	if err != nil {
		return bench.Target{}, err
	}
	n, err := newNode(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return bench.Target{}, err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		n.close()
		return bench.Target{}, fmt.Errorf("listen: %w", err)
	}
	if serving, err := n.start(ctx, ln); !serving {
		ln.Close()
		n.close()
		if err == nil {
			err = ctx.Err()
		}
		return bench.Target{}, err
	}
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := n.shutdown(ctx)
		n.close()
		if n.srcErr != nil && !errors.Is(n.srcErr, feed.ErrClosed) {
			err = errors.Join(err, fmt.Errorf("market source: %w", n.srcErr))
		}
		return err
	}
	return bench.Target{URL: "http://" + ln.Addr().String(), Stop: stop}, nil
}
