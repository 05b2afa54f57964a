package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"tickertape/feed"
)

// Where a server figure was read, as the result's sources say.
const (
	srcMetrics  = "metrics"          // the server's /metrics (process_cpu_seconds_total, …)
	srcForcedGC = "forced GC"        // /debug/pprof/heap?gc=1: the live heap right after a GC
	srcNextGC   = "next_gc estimate" // go_memstats_next_gc_bytes × 100/(100+GOGC), no GC forced
)

// srcProc names /proc/PID as a source.
func srcProc(pid int) string { return "/proc/" + strconv.Itoa(pid) }

// probe reads one server's figures: its /metrics when it has them, its
// /proc/PID for CPU and RSS when it does not (and a PID is known), and its
// live heap after a forced GC when it serves Go's profiler.
type probe struct {
	// Set at construction, then read-only.
	base      string // http(s)://host:port
	hc        *http.Client
	pid       int
	transport feed.Transport

	// Learned as it goes (one goroutine uses a probe): the server answered
	// 404 once, so it is not asked again.
	noMetrics, noPprof bool
}

func newProbe(t Target, pid int, transport feed.Transport) *probe {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: t.RootCAs}, DisableKeepAlives: false, MaxIdleConns: 2}
	return &probe{base: strings.TrimSuffix(t.URL, "/"), hc: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		pid: pid, transport: transport}
}

func (p *probe) close() { p.hc.CloseIdleConnections() }

// sample is what a probe read at one moment. A figure's source is "" when
// nothing gave it.
type sample struct {
	cpu, rss, heap        float64
	cpuSrc, rssSrc, hpSrc string

	published            float64 // tickertape_events_published_total
	hasPublished         bool
	batchSum, batchCount float64 // tickertape_batch_events of the transport
	hasBatch             bool
	nextGC, gogc         float64
	hasNextGC            bool
	clients              float64 // tickertape_clients of the transport: open streams
	hasClients           bool
	metricsErr, procErr  error // why a source gave nothing, for a note
	metricsSeen          bool
}

// drained waits until the server has let go of the bench's streams (its
// tickertape_clients of the transport is 0), at most 10s; a server without
// that gauge is given 2s. It says whether the server was seen to let go.
func (p *probe) drained(ctx context.Context) (bool, error) {
	end := time.Now().Add(10 * time.Second)
	for {
		s, err := p.read(ctx, false)
		if err != nil {
			return false, err
		}
		if !s.hasClients {
			return false, sleep(ctx, 2*time.Second)
		}
		if s.clients <= 0 {
			return true, nil
		}
		if time.Now().After(end) {
			return false, nil
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return false, err
		}
	}
}

// read samples the server. With gc, it first forces a garbage collection
// (through the profiler) and reads the live heap, so that what follows,
// RSS among it, is measured after it. Only a failure to reach the server
// at all is an error: a server without /metrics or the profiler simply
// gives fewer figures.
func (p *probe) read(ctx context.Context, gc bool) (sample, error) {
	var s sample
	if gc && !p.noPprof {
		heap, err := p.forceGC(ctx)
		switch {
		case err == nil:
			s.heap, s.hpSrc = heap, srcForcedGC
		case errors.Is(err, errNotServed):
			p.noPprof = true
		case ctx.Err() != nil:
			return s, ctx.Err()
		}
	}
	if !p.noMetrics {
		err := p.scrape(ctx, &s)
		switch {
		case errors.Is(err, errNotServed):
			p.noMetrics = true
			s.metricsErr = err
		case err != nil:
			return s, err
		}
	}
	if gc && s.hpSrc == "" && s.hasNextGC {
		g := s.gogc
		if g <= 0 {
			g = 100
		}
		s.heap, s.hpSrc = s.nextGC*100/(100+g), srcNextGC
	}
	if p.pid > 0 && (s.cpuSrc == "" || s.rssSrc == "") {
		cpu, rss, err := procFigures(p.pid)
		if err != nil {
			s.procErr = err
		} else {
			if s.cpuSrc == "" {
				s.cpu, s.cpuSrc = cpu, srcProc(p.pid)
			}
			if s.rssSrc == "" {
				s.rss, s.rssSrc = rss, srcProc(p.pid)
			}
		}
	}
	return s, nil
}

// errNotServed: the server answered, but not with what was asked (a 404,
// or a page that is not what the bench reads).
var errNotServed = errors.New("not served")

func (p *probe) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		return nil, err
	}
	// Uncompressed: a server that gzips its answer allocates a compressor
	// for it (up to about 900 KiB for /metrics), which would be counted in the
	// very memory the probe reads.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s: %w", path, resp.Status, errNotServed)
	}
	return resp, nil
}

// forceGC asks Go's profiler for the heap profile with gc=1, which runs a
// garbage collection first, and reads the runtime's HeapAlloc from the
// text form's footer: the live heap, give or take what was allocated
// since the collection ended a moment before.
func (p *probe) forceGC(ctx context.Context) (float64, error) {
	resp, err := p.get(ctx, "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 64<<20))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# HeapAlloc = "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("the heap profile has no HeapAlloc line: %w", errNotServed)
}

// scrape reads the figures the bench knows from /metrics (Prometheus
// text). Names it does not know are skipped; a server may have any of them.
func (p *probe) scrape(ctx context.Context, s *sample) error {
	resp, err := p.get(ctx, "/metrics")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	s.metricsSeen = true
	batchLabel := `{transport="` + p.transport.String() + `"}` // the label of the transport's series
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 16<<20))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		key, val := line[:i], line[i+1:]
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			continue
		}
		switch key {
		case "process_cpu_seconds_total":
			s.cpu, s.cpuSrc = v, srcMetrics
		case "process_resident_memory_bytes":
			s.rss, s.rssSrc = v, srcMetrics
		case "tickertape_events_published_total":
			s.published, s.hasPublished = v, true
		case "go_memstats_next_gc_bytes":
			s.nextGC, s.hasNextGC = v, true
		case "go_gc_gogc_percent":
			s.gogc = v
		case "tickertape_batch_events_sum" + batchLabel:
			s.batchSum = v
			s.hasBatch = true
		case "tickertape_batch_events_count" + batchLabel:
			s.batchCount = v
		case "tickertape_clients" + batchLabel:
			s.clients, s.hasClients = v, true
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the server's metrics: %w", err)
	}
	return nil
}
