package sse

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tickertape/compare"
	"tickertape/feed"
	"tickertape/market"
)

// Config is the server a test asks for.
type Config struct {
	// Rate is the market's quote events per second; 0 runs no market: the
	// test publishes into Hub.Log().
	Rate           float64
	Symbols        string // as market.Config.Symbols; "" is the default universe
	Seed           int64
	Replay         int // resume buffer size; 0 is 10000
	MaxStreams     int
	Heartbeat      time.Duration
	WriteTimeout   time.Duration // 0 is feed's default
	AllowedOrigins []string      // handed to /ws
}

// Server is GET /events, /ws (over one hub, the two endpoints the parity
// tests hold side by side), /metrics (the hub's series, the log's and the
// process's), /debug/pprof/heap (through which a bench forces a GC) and
// /api/symbols, as a bench reads them, on an httptest server.
type Server struct {
	URL string
	Hub *feed.Hub

	srv        *httptest.Server
	stopMarket context.CancelFunc
	marketErr  chan error
}

// NewServer starts a server as cfg says. [Server.Close] stops it.
func NewServer(cfg Config) (*Server, error) {
	// The market names the symbols even when it does not run.
	src, err := market.Open(market.Config{Rate: max(cfg.Rate, 1), Symbols: cfg.Symbols, Seed: cfg.Seed, Speed: 1})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, sym := range src.Symbols() {
		names = append(names, sym.Symbol)
	}
	log, err := feed.NewLog(names, cmp.Or(cfg.Replay, 10000), 0)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(log.Collectors()...)
	hub := feed.NewHub(log, feed.Options{Metrics: feed.NewMetrics(reg),
		Logger: slog.New(slog.DiscardHandler), MaxStreams: cfg.MaxStreams, Heartbeat: cfg.Heartbeat, WriteTimeout: cfg.WriteTimeout})
	mux := http.NewServeMux()
	mux.Handle("GET /events", hub.SSEHandler())
	mux.Handle("GET /ws", compare.Handler(hub, cfg.AllowedOrigins))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /debug/pprof/heap", pprof.Handler("heap")) // the bench forces a GC through it
	mux.HandleFunc("GET /api/symbols", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(src.Symbols())
	})
	s := &Server{Hub: hub, srv: httptest.NewServer(mux), marketErr: make(chan error, 1)}
	s.URL = s.srv.URL
	ctx, stop := context.WithCancel(context.Background())
	s.stopMarket = stop
	if cfg.Rate <= 0 {
		s.marketErr <- nil
		return s, nil
	}
	go func() { s.marketErr <- src.Run(ctx, log) }()
	// As a tickertape node does, serve once the market has published its
	// opening picture: the simulation trades its morning first, which
	// under -race on a loaded machine takes seconds.
	select {
	case <-log.Ready():
		return s, nil
	case err := <-s.marketErr:
		s.marketErr <- err
		s.Close()
		return nil, fmt.Errorf("the market ended before its opening picture: %v", err)
	}
}

// StartServer starts a server as cfg says, and closes it at the end of
// the test, failing the test if that fails.
func StartServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the server: %v", err)
		}
	})
	return s
}

// Close ends every stream (WebSockets with 1001), stops the server and the
// market, and waits for all of them.
func (s *Server) Close() error {
	s.Hub.Log().Close() // as a shutting-down tickertape does first: Close need not wait for streams
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.Hub.Wait(ctx)
	s.srv.Close()
	s.stopMarket()
	if merr := <-s.marketErr; merr != nil && !errors.Is(merr, feed.ErrClosed) {
		err = errors.Join(err, merr)
	}
	return err
}
