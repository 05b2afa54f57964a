package bench

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/goleak"

	"tickertape/compare"
	"tickertape/feed"
	"tickertape/market"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startServer is the tests' StartFunc (package main hands the bench its
// real node): a simulated market into a log, and what a bench reads of a
// server, GET /events, /ws and /metrics with the process's figures.
func startServer(_ context.Context, sc ServerConfig) (Target, error) {
	src, err := market.Open(market.Config{Rate: sc.Rate, Symbols: sc.Symbols, Seed: sc.Seed, Speed: 1})
	if err != nil {
		return Target{}, err
	}
	var names []string
	for _, s := range src.Symbols() {
		names = append(names, s.Symbol)
	}
	log, err := feed.NewLog(names, 10000, 0)
	if err != nil {
		return Target{}, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(log.Collectors()...)
	hub := feed.NewHub(log, feed.Options{Metrics: feed.NewMetrics(reg), Logger: discard(), MaxStreams: sc.MaxStreams})
	mux := http.NewServeMux()
	mux.Handle("GET /events", hub.SSEHandler())
	mux.Handle("GET /ws", compare.Handler(hub, nil))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /debug/pprof/heap", pprof.Handler("heap")) // the bench forces a GC through it
	mux.HandleFunc("GET /api/symbols", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(src.Symbols())
	})
	srv := httptest.NewServer(mux)
	ctx, stopMarket := context.WithCancel(context.Background())
	marketErr := make(chan error, 1)
	go func() { marketErr <- src.Run(ctx, log) }()
	stop := func() error {
		log.Close() // ends every stream, so that Close need not wait for them
		wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := hub.Wait(wctx)
		srv.Close()
		stopMarket()
		if merr := <-marketErr; merr != nil && !errors.Is(merr, feed.ErrClosed) {
			err = errors.Join(err, merr)
		}
		return err
	}
	return Target{URL: srv.URL, Stop: stop}, nil
}
