package bench

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"go.uber.org/goleak"

	"tickertape/internal/sse"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startServer is the tests' StartFunc (package main hands the bench its
// real node): internal/sse's server, whose GET /events, /ws and /metrics
// (with the process's figures) are what a bench reads of a server.
func startServer(_ context.Context, sc ServerConfig) (Target, error) {
	s, err := sse.NewServer(sse.Config{Rate: sc.Rate, Symbols: sc.Symbols, Seed: sc.Seed, MaxStreams: sc.MaxStreams})
	if err != nil {
		return Target{}, err
	}
	return Target{URL: s.URL, Stop: s.Close}, nil
}
