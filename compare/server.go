package compare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tickertape/feed"
	"tickertape/market"
)

// ServerConfig configures a server started by [StartServer].
type ServerConfig struct {
	// Rate is the market's quote events per second (market.Config.Rate);
	// 0 runs no market at all: the caller publishes into Hub.Log().
	Rate    float64
	Symbols string // as market.Config.Symbols; "" is the default universe
	Seed    int64  // the market's seed
	Replay  int    // resume buffer size; 0 is 10000
	// MaxStreams bounds the streams of both transports; 0 is 10000.
	MaxStreams int
	// Heartbeat is the longest silence on a stream; 0 is feed's default.
	Heartbeat time.Duration
	// AllowedOrigins is handed to /ws (see [Handler]).
	AllowedOrigins []string
	Logger         *slog.Logger // nil: discard
}

// Server is a small tickertape inside this process: a simulated market,
// its log, and GET /events, /ws and /metrics on a loopback port. Tests use
// it, and so does a bench run started from the dashboard (POST /api/bench),
// so that the run has the market rate it asked for without touching the
// live market. Its /metrics reads this whole process, clients included.
type Server struct {
	// URL is the server's base address, http://127.0.0.1:PORT.
	URL string
	// Hub is the server's hub (tests publish into Hub().Log()).
	Hub *feed.Hub

	srv     *http.Server
	serveCh chan error
	srcCh   chan error
	stopSrc context.CancelFunc
}

// StartServer starts a server; Close stops it.
func StartServer(cfg ServerConfig) (*Server, error) {
	if cfg.Replay <= 0 {
		cfg.Replay = 10000
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	rate := cfg.Rate
	if rate == 0 {
		rate = 1 // only for the symbols; the market does not run
	}
	src, err := market.Open(market.Config{Rate: rate, Symbols: cfg.Symbols, Seed: cfg.Seed, Speed: 1})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range src.Symbols() {
		names = append(names, s.Symbol)
	}
	log, err := feed.NewLog(names, cfg.Replay, 0)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(log.Collectors()...)
	hub := feed.NewHub(log, feed.Options{Metrics: feed.NewMetrics(reg), Logger: logger,
		MaxStreams: cfg.MaxStreams, Heartbeat: cfg.Heartbeat})

	mux := http.NewServeMux()
	mux.Handle("GET /events", hub.SSEHandler())
	mux.Handle("GET /ws", Handler(hub, cfg.AllowedOrigins))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("compare: listen: %w", err)
	}
	s := &Server{
		URL:     "http://" + ln.Addr().String(),
		Hub:     hub,
		srv:     &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)},
		serveCh: make(chan error, 1),
		srcCh:   make(chan error, 1),
	}
	s.srv.RegisterOnShutdown(log.Close)
	var ctx context.Context
	ctx, s.stopSrc = context.WithCancel(context.Background())
	if cfg.Rate > 0 {
		go func() { s.srcCh <- src.Run(ctx, log) }()
	} else {
		s.srcCh <- nil
	}
	go func() { s.serveCh <- s.srv.Serve(ln) }()
	return s, nil
}

// Close ends every stream (WebSockets with 1001), stops the server and the
// market, and waits for all of them.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.serveCh; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	err = errors.Join(err, s.Hub.Wait(ctx))
	s.stopSrc()
	if serr := <-s.srcCh; serr != nil && !errors.Is(serr, feed.ErrClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
