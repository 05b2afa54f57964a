package bench

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tickertape/feed"
)

// runTransport is one run of one side: a server, its figures before any
// client, the clients connected over the ramp, the warm-up, the measured
// window, then the server's memory after a forced GC with the clients
// still connected.
func runTransport(ctx context.Context, cfg Config, t turn) (runResult, *histogram, error) {
	side := t.side
	out := runResult{TransportResult: TransportResult{Transport: side.Transport, Label: side.Label}}
	timeline := (cfg.Rest + cfg.Ramp + cfg.Warmup + cfg.Duration).Seconds()
	var began time.Time
	report := func(p Progress) {
		if cfg.Progress == nil {
			return
		}
		p.Transport, p.Label, p.Run, p.Runs = side.Transport, side.Label, t.run, t.runs
		frac := 0.0
		if !began.IsZero() && timeline > 0 {
			frac = min(time.Since(began).Seconds()/timeline, 1)
		}
		if p.Phase == "done" {
			frac = 1
		}
		p.Completion = 100 * (float64(t.index) + frac) / float64(t.of)
		cfg.Progress(p)
	}
	if side.Starts {
		report(Progress{Phase: "starting"})
	}
	tgt, err := side.Start(ctx)
	if err != nil {
		return out, nil, err
	}
	defer func() {
		if tgt.Stop != nil {
			tgt.Stop()
		}
	}()
	pid := tgt.PID
	if pid == 0 {
		pid = side.PID
	}
	out.shared = tgt.Shared || pid == os.Getpid()
	base, err := url.Parse(strings.TrimSuffix(tgt.URL, "/"))
	if err != nil {
		return out, nil, err
	}
	out.URL = streamURL(base, side, cfg.Query, nil, 0).String()
	out.Protocol = "HTTP/1.1"
	switch {
	case side.HTTP2:
		out.Protocol = "HTTP/2 (TLS)"
	case base.Scheme == "https":
		out.Protocol = "HTTP/1.1 (TLS)"
	}
	pr := newProbe(tgt, pid, side.Transport)
	defer pr.close()

	began = time.Now()
	s0, err := pr.read(ctx, true)
	if err != nil {
		return out, nil, err
	}
	if cfg.Rest > 0 {
		report(Progress{Phase: "measuring the server at rest"})
		if err := sleep(ctx, cfg.Rest); err != nil {
			return out, nil, err
		}
		sr, err := pr.read(ctx, false)
		if err != nil {
			return out, nil, err
		}
		if s0.cpuSrc != "" && sr.cpuSrc == s0.cpuSrc {
			out.ServerCPUAtRestPercent = ptr(round(100 * (sr.cpu - s0.cpu) / cfg.Rest.Seconds()))
		}
	}
	var symbols []string
	if strings.Contains(out.URL, url.QueryEscape("{symbol}")) || strings.Contains(out.URL, "{symbol}") {
		if symbols, err = pr.symbols(ctx); err != nil {
			return out, nil, fmt.Errorf("the stream names {symbol}, so the bench needs the server's symbols: %w", err)
		}
	}

	// Connect every client, spread over the ramp, at most 64 dials at a time.
	cctx, stopClients := context.WithCancel(ctx)
	defer stopClients()
	n := cfg.Clients
	var measure atomic.Bool
	checkGaps := !filtered(streamURL(base, side, cfg.Query, nil, 0))
	clients := make([]*client, n)
	errs := make([]error, n)
	var groups []*h2Conn
	spc := side.StreamsPerConn
	if spc <= 0 {
		spc = 100
	}
	if side.HTTP2 {
		groups = make([]*h2Conn, (n+spc-1)/spc)
		for i := range groups {
			groups[i] = newH2Conn(hostPort(base), tlsFor(base, tgt.RootCAs))
		}
		defer func() {
			for _, g := range groups {
				g.close()
			}
		}()
	}
	var wg, readyWG sync.WaitGroup
	sem := make(chan struct{}, 64)
	readyWG.Add(n)
	rampStart := time.Now()
	for i := range clients {
		cl := &client{measure: &measure, checkGaps: checkGaps}
		clients[i] = cl
		u := streamURL(base, side, cfg.Query, symbols, i)
		var at time.Duration
		if cfg.Ramp > 0 {
			at = cfg.Ramp * time.Duration(i) / time.Duration(n)
		}
		wg.Go(func() {
			once := sync.OnceFunc(readyWG.Done)
			defer once()
			if at > 0 && sleep(cctx, time.Until(rampStart.Add(at))) != nil {
				return
			}
			select {
			case sem <- struct{}{}:
			case <-cctx.Done():
				return
			}
			released := false
			release := func() {
				if !released {
					released = true
					<-sem
				}
			}
			defer release()
			ready := func() { release(); once() }
			switch {
			case side.HTTP2:
				cc, err := groups[i/spc].conn(cctx)
				if err == nil {
					err = cl.runSSEH2(cctx, cc, u, ready)
				}
				errs[i] = err
			case side.Transport == feed.SSE:
				errs[i] = cl.runSSE(cctx, u, tgt.RootCAs, ready)
			default:
				errs[i] = cl.runWS(cctx, u, tgt.RootCAs, ready)
			}
			if errs[i] != nil {
				cl.failed.Store(true)
			}
		})
	}
	connected := make(chan struct{})
	go func() { readyWG.Wait(); close(connected) }()
	// Ends the clients and waits for them, on every way out from here.
	ended := false
	end := func() {
		if !ended {
			ended = true
			stopClients()
			wg.Wait()
			<-connected // every client has said ready or ended
		}
	}
	defer end()

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	// A client that cannot connect in time is left behind, not waited for.
	connectBy := time.NewTimer(cfg.Ramp + 30*time.Second + time.Duration(n)*10*time.Millisecond)
	defer connectBy.Stop()
	for waiting := true; waiting; {
		select {
		case <-connected:
			waiting = false
		case <-connectBy.C:
			waiting = false
		case <-tick.C:
			report(Progress{Phase: "connecting", Clients: countHeld(clients)})
		case <-ctx.Done():
			return out, nil, ctx.Err()
		}
	}
	if cfg.Warmup > 0 {
		report(Progress{Phase: "warming up", Clients: countHeld(clients)})
		warm := time.NewTimer(cfg.Warmup)
		for warming := true; warming; {
			select {
			case <-warm.C:
				warming = false
			case <-tick.C:
				report(Progress{Phase: "warming up", Clients: countHeld(clients)})
			case <-ctx.Done():
				warm.Stop()
				return out, nil, ctx.Err()
			}
		}
	}

	// The window.
	w0, err := pr.read(ctx, false)
	if err != nil {
		return out, nil, err
	}
	busy0, busyErr := machineBusy()
	self0 := selfCPU()
	ev0, by0 := sums(clients, groups)
	measure.Store(true)
	t0 := time.Now()
	last, lastT := ev0, t0
	tick.Reset(time.Second)
	deadline := time.NewTimer(cfg.Duration)
	defer deadline.Stop()
	for running := true; running; {
		select {
		case <-deadline.C:
			running = false
		case now := <-tick.C:
			ev, _ := sums(clients, groups)
			report(Progress{Phase: "running", Clients: countHeld(clients),
				EventsPerSec: float64(ev-last) / now.Sub(lastT).Seconds(), Elapsed: now.Sub(t0).Seconds()})
			last, lastT = ev, now
		case <-ctx.Done():
			return out, nil, ctx.Err()
		}
	}
	measure.Store(false)
	elapsed := time.Since(t0)
	ev1, by1 := sums(clients, groups)
	self1 := selfCPU()
	busy1, busyErr1 := machineBusy()
	w1, err := pr.read(ctx, false)
	if err != nil {
		return out, nil, err
	}
	held := countHeld(clients)
	conns := held
	if side.HTTP2 {
		conns = 0
		for _, g := range groups {
			if g.live() {
				conns++
			}
		}
	}
	// Memory: with the clients, then without them, each right after a
	// forced GC, a moment apart, so that what the server holds anyway (its
	// resend buffer, still filling) is the same in both.
	report(Progress{Phase: "measuring memory", Clients: held, Elapsed: cfg.Duration.Seconds()})
	m1, err := pr.read(ctx, true)
	if err != nil {
		return out, nil, err
	}
	end()
	if ctx.Err() != nil {
		return out, nil, ctx.Err()
	}
	let, err := pr.drained(ctx)
	if err != nil {
		return out, nil, err
	}
	m2, err := pr.read(ctx, true)
	if err != nil {
		return out, nil, err
	}

	h := &histogram{}
	for i, cl := range clients {
		h.merge(&cl.hist)
		out.Gaps += cl.gaps
		out.Duplicates += cl.dups
		out.Resets += cl.resets
		if errs[i] != nil {
			out.Errors++
			if out.FirstError == "" {
				out.FirstError = errs[i].Error()
			}
		}
	}
	if held == 0 {
		return out, nil, fmt.Errorf("no client connected: %s", out.FirstError)
	}
	secs := elapsed.Seconds()
	delivered := float64(ev1 - ev0)
	out.ClientsHeld, out.Connections = held, conns
	out.EventsPerSec = round(delivered / secs)
	if w0.hasPublished && w1.hasPublished {
		out.MarketEventsPerSec = ptr(round((w1.published - w0.published) / secs))
	}
	if h.n > 0 {
		out.LatencyP50Ms = ptr(round(h.quantile(0.5) / 1000))
		out.LatencyP99Ms = ptr(round(h.quantile(0.99) / 1000))
		out.LatencyP999Ms = ptr(round(h.quantile(0.999) / 1000))
		out.LatencyMaxMs = ptr(round(float64(h.max) / 1000))
	} else if delivered > 0 {
		out.notes = append(out.notes, side.Label+": no latency: its events carry no ts (Unix time) in their data, so only their arrival is counted")
	}
	if delivered > 0 {
		out.BytesPerEvent = round(float64(by1-by0) / delivered)
	}
	if w0.cpuSrc != "" && w1.cpuSrc == w0.cpuSrc {
		out.ServerCPUPerMillionEvents = perMillion(w1.cpu-w0.cpu, delivered)
	}
	if self0 >= 0 && !out.shared && delivered > 0 {
		out.ClientCPUPerMillionEvents = round((self1 - self0) / (delivered / 1e6))
	}
	if w0.hasBatch && w1.hasBatch && w1.batchCount > w0.batchCount {
		out.EventsPerWrite = ptr(round((w1.batchSum - w0.batchSum) / (w1.batchCount - w0.batchCount)))
	}
	heapKnown := m1.hpSrc != "" && m2.hpSrc == m1.hpSrc
	if heapKnown {
		out.ServerMemoryPerClientBytes = ptr(math.Round((m1.heap - m2.heap) / float64(held)))
		if !let {
			out.notes = append(out.notes, side.Label+": the server was not seen to let go of every stream within 10s after the clients left, so heap per client may read low")
		}
	}
	if s0.rssSrc != "" && m1.rssSrc == s0.rssSrc {
		// The runtime keeps freed pages a while, so RSS is not read back
		// after the clients leave: it is the growth since before them, less
		// what the live heap grew without them (the resend buffer filling).
		growth := m1.rss - s0.rss
		if heapKnown && s0.hpSrc == m2.hpSrc {
			growth -= m2.heap - s0.heap
		}
		out.ServerRSSPerClientBytes = ptr(math.Round(growth / float64(held)))
	}
	out.Sources = Sources{CPU: w1.cpuSrc, RSS: m1.rssSrc, Heap: m1.hpSrc}
	if busyErr == nil && busyErr1 == nil && self0 >= 0 {
		other := (busy1 - busy0) - (self1 - self0)
		if !out.shared && w1.cpuSrc != "" {
			other -= w1.cpu - w0.cpu
		} else if !out.shared {
			out.notes = append(out.notes, side.Label+": the other load includes the server's, whose CPU is not known")
		}
		out.otherLoad = ptr(round(max(other, 0) / secs))
	}
	switch {
	case w1.cpuSrc == "" && pid == 0:
		out.notes = append(out.notes, side.Label+": the server has no CPU or memory figures on /metrics, and no -pid was given: they are not known (give -pid PID)")
	case w1.cpuSrc == "":
		out.notes = append(out.notes, fmt.Sprintf("%s: the server's CPU is not known: neither /metrics nor /proc/%d gave it (%v)", side.Label, pid, w1.procErr))
	}
	if m1.hpSrc == srcNextGC {
		out.notes = append(out.notes, side.Label+": heap per client is estimated from go_memstats_next_gc_bytes: the server serves no /debug/pprof to force a GC (start it with -pprof)")
	}
	report(Progress{Phase: "done", Clients: held, Elapsed: cfg.Duration.Seconds()})
	return out, h, nil
}

// filtered says whether a stream asks for a subset of the events, so
// that its ids skip by design.
func filtered(u *url.URL) bool {
	q := u.Query()
	return q.Has("symbols") || q.Has("events") || q.Has("throttle")
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sums adds up what the clients received: events, and bytes read from
// their sockets (an HTTP/2 connection's shared by its streams).
func sums(cs []*client, groups []*h2Conn) (events, bytes int64) {
	for _, c := range cs {
		events += c.events.Load()
		bytes += c.bytes.Load()
	}
	for _, g := range groups {
		bytes += g.bytes.Load()
	}
	return events, bytes
}

func countHeld(cs []*client) int {
	n := 0
	for _, c := range cs {
		if c.connected.Load() && !c.failed.Load() {
			n++
		}
	}
	return n
}

// symbols asks the server for its symbols (GET /api/symbols, as
// tickertape serves it).
func (p *probe) symbols(ctx context.Context) ([]string, error) {
	resp, err := p.get(ctx, "/api/symbols")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var list []struct {
		Symbol string `json:"symbol"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&list); err != nil {
		return nil, fmt.Errorf("GET /api/symbols: %w", err)
	}
	var out []string
	for _, s := range list {
		if s.Symbol != "" {
			out = append(out, s.Symbol)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("GET /api/symbols: no symbols")
	}
	return out, nil
}

// h2Conn is one HTTP/2 connection that up to StreamsPerConn clients share,
// dialled by the first of them; it counts the bytes read from its socket.
type h2Conn struct {
	bytes atomic.Int64

	// Set at construction, then read-only.
	tr   *http.Transport
	addr string

	// Guarded by mu, which is held while dialling, so that the group's
	// other clients wait for the one connection rather than make their own.
	mu     sync.Mutex
	cc     *http.ClientConn
	err    error
	closed bool
}

var errClosed = errors.New("the run ended")

func newH2Conn(addr string, tc *tls.Config) *h2Conn {
	g := &h2Conn{addr: addr}
	var d net.Dialer
	var protos http.Protocols
	protos.SetHTTP2(true) // HTTP/2 only: a server that cannot is an error, not a fallback
	tc = tc.Clone()
	tc.NextProtos = []string{"h2"}
	g.tr = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{c, &g.bytes}, nil
		},
		TLSClientConfig: tc,
		Protocols:       &protos,
	}
	return g
}

// conn returns the connection, dialling it on the first call.
func (g *h2Conn) conn(ctx context.Context) (*http.ClientConn, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, errClosed
	}
	if g.cc == nil && g.err == nil {
		g.cc, g.err = g.tr.NewClientConn(ctx, "https", g.addr)
	}
	return g.cc, g.err
}

// live says whether the connection was made and still works.
func (g *h2Conn) live() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cc != nil && g.cc.Err() == nil
}

func (g *h2Conn) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	if g.cc != nil {
		g.cc.Close()
	}
	g.tr.CloseIdleConnections()
}
