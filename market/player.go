package market

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Player plays a file back as a Source: a CSV of trades or quotes, or a JSONL
// recording made by Record. The whole file is read and checked by Open, so a
// bad row is an error before anything is published.
type Player struct {
	path     string
	speed    float64
	now      func() time.Time
	listings []listing

	// One of the two is set.
	rows   []row    // a CSV
	events []recEvt // a JSONL recording
}

var _ Source = (*Player)(nil)

// Symbols lists the file's symbols in the order they first appear.
func (p *Player) Symbols() []Symbol { return symbolsOf(p.listings) }

// Run plays the file to sink and returns nil at its end, or when ctx is done.
func (p *Player) Run(ctx context.Context, sink Sink) error {
	return drive(ctx, sink, p.stepper(), p.speed, p.now)
}

// stepper returns the file's events from the first.
func (p *Player) stepper() stepper {
	if p.rows != nil {
		return newCSVStepper(p)
	}
	return &jsonlStepper{events: p.events}
}

func openFile(path string, cfg Config) (Source, error) {
	if path == "" {
		return nil, configError("Source", "source %q: want file:PATH with a path", cfg.Source)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, configError("Source", "source: %w", err)
	}
	defer f.Close()
	p := &Player{path: path, speed: cfg.Speed, now: cfg.Now}
	br := bufio.NewReaderSize(f, 64<<10)
	// A JSONL recording starts with '{'; anything else is read as CSV.
	first, err := br.Peek(1)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("market: %s: %w", path, err)
	}
	if len(first) > 0 && first[0] == '{' {
		if strings.TrimSpace(cfg.Symbols) != "" {
			return nil, configError("Symbols", "symbols %q: a JSONL recording plays all its symbols; want none listed", cfg.Symbols)
		}
		err = p.readJSONL(br)
	} else {
		err = p.readCSV(br, cfg.Symbols)
	}
	if _, ok := errors.AsType[*ConfigError](err); ok {
		return nil, err // the symbols asked for, not the file
	}
	if err != nil {
		return nil, fmt.Errorf("market: %s: %w", path, err)
	}
	normalise(p.listings)
	return p, nil
}

// symbolIndex keeps the order of first appearance.
type symbolIndex struct {
	idx      map[string]int
	listings *[]listing
}

func (s *symbolIndex) get(sym string) int {
	i, ok := s.idx[sym]
	if !ok {
		i = len(*s.listings)
		s.idx[sym] = i
		*s.listings = append(*s.listings, lookup(sym))
	}
	return i
}
