package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"tickertape/feed"
)

// Bounds on a bench run started over HTTP, so that no request can cost
// the server more than a minute or two of one process's work.
const (
	MaxJobClients  = 1000
	MaxJobDuration = 60 * time.Second
	MaxJobRate     = 50000
	// MaxJobLoad bounds clients × rate: the quotes per second the run asks
	// the process to deliver (a default `tickertape bench` is 200000).
	MaxJobLoad = 500000
	MaxJobRuns = 5 // runs per transport, taken in turns
	// MaxJobWindow bounds runs × duration: the measured time per transport.
	MaxJobWindow = 120 * time.Second
	keptJobs     = 8 // finished jobs whose events can still be read
)

// JobsOptions configure [NewJobs].
type JobsOptions struct {
	// Done ends every job and job stream when closed: the server is
	// shutting down (the live log's Done).
	Done <-chan struct{}
	// Symbols is the bench server's -symbols; "" is "50".
	Symbols string
	Logger  *slog.Logger // nil: slog.Default()
	// Server starts each run's in-process server (required).
	Server StartFunc
}

// Jobs runs bench jobs started from the dashboard, one at a time:
//
//   - POST /api/bench {"clients":50,"duration":"5s","rate":1000,"runs":3,"transports":["sse","ws"]}
//     (every field optional; duration a Go duration or a number of seconds,
//     each run's window) answers 202 {"job":"ID"}; 409 while a run is
//     going; 400 naming each bad field (clients 1…1000, duration 1s…60s,
//     rate 1…50000 quotes/s, clients × rate at most 500000, runs 1…5 and
//     runs × duration at most 120s, transports of sse, ws). Without runs,
//     3, or as many as fit in 120s.
//   - GET /api/jobs/ID/events streams the run as progress events (SSE, ids
//     from 1, Last-Event-ID resumes): {"job","status":"in_progress",
//     "completion",…}, the last one "done" with "result" (a [Result]) or
//     "failed" with "error". Once that was read, a reconnect gets 204, which
//     tells EventSource to stop. An unknown job is a JSON 404.
//
// A run benches a fresh in-process server ([JobsOptions.Server]) with the rate
// asked for, not the live market, so viewers see no change; its clients
// share this process, so its CPU and memory figures include them
// (sharedProcess in the result).
type Jobs struct {
	// Set at construction, then read-only.
	opts   JobsOptions
	ctx    context.Context
	cancel context.CancelFunc

	wg sync.WaitGroup // one per running job

	// Guarded by mu.
	mu      sync.Mutex
	jobs    map[string]*job
	order   []string // job ids, oldest first
	running string   // the running job's id, or ""
	next    int
}

// NewJobs returns a job runner. Close it to stop a running job.
func NewJobs(opts JobsOptions) *Jobs {
	if opts.Symbols == "" {
		opts.Symbols = "50"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Jobs{opts: opts, ctx: ctx, cancel: cancel, jobs: map[string]*job{}}
}

// Close stops the running job, if any, and waits for it.
func (j *Jobs) Close() {
	j.cancel()
	j.wg.Wait()
}

// job is one run's progress events, kept as encoded SSE frames.
type job struct {
	id string

	// Guarded by mu.
	mu     sync.Mutex
	frames [][]byte      // event i has id i+1
	ended  bool          // the last frame (done or failed) is in
	wake   chan struct{} // closed and replaced on each append
}

// progressEvent is the data of a progress event.
type progressEvent struct {
	Job        string         `json:"job"`
	Status     string         `json:"status"` // in_progress, done, failed
	Completion float64        `json:"completion"`
	Transport  feed.Transport `json:"transport,omitempty"`
	Phase      string         `json:"phase,omitempty"`
	Label      string         `json:"label,omitempty"`
	Run        int            `json:"run,omitempty"`
	Runs       int            `json:"runs,omitempty"`
	Clients    int            `json:"clients,omitempty"`
	// EventsPerSec and ElapsedSeconds are those of the running transport.
	EventsPerSec   float64 `json:"eventsPerSec,omitempty"`
	ElapsedSeconds float64 `json:"elapsedSeconds,omitempty"`
	Result         *Result `json:"result,omitempty"`
	Error          string  `json:"error,omitempty"`
}

func (jb *job) add(p progressEvent) {
	data, _ := json.Marshal(p)
	jb.mu.Lock()
	defer jb.mu.Unlock()
	id := uint64(len(jb.frames) + 1)
	f, _ := feed.AppendSSE(make([]byte, 0, len(data)+40), id, "progress", data)
	jb.frames = append(jb.frames, f)
	if p.Status != "in_progress" {
		jb.ended = true
	}
	close(jb.wake)
	jb.wake = make(chan struct{})
}

// since returns the frames after the n-th, whether the job has ended, and
// a channel closed when more come.
func (jb *job) since(n int) ([][]byte, bool, <-chan struct{}) {
	jb.mu.Lock()
	defer jb.mu.Unlock()
	if n > len(jb.frames) {
		n = len(jb.frames)
	}
	return jb.frames[n:], jb.ended, jb.wake
}

// benchRequest is POST /api/bench's body.
type benchRequest struct {
	Clients    *int            `json:"clients"`
	Duration   json.RawMessage `json:"duration"`
	Rate       *float64        `json:"rate"`
	Runs       *int            `json:"runs"`
	Transports []string        `json:"transports"`
}

// parseBenchRequest reads and bounds a request; every bad field is named
// in the 400's Fields.
func parseBenchRequest(r io.Reader) (Config, float64, *feed.RequestError) {
	cfg := Config{Clients: 50, Duration: 5 * time.Second, Runs: 3, Warmup: 500 * time.Millisecond, Transports: feed.Transports()}
	rate := 1000.0
	var req benchRequest
	dec := json.NewDecoder(io.LimitReader(r, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); errors.Is(err, io.EOF) {
		// Not a default run: an empty POST is what a stray form or
		// script sends.
		return cfg, 0, &feed.RequestError{Status: http.StatusBadRequest,
			Message: `the body is empty; send {} for a default run, or {"clients":50,"duration":"5s","rate":1000,"transports":["sse","ws"]}`}
	} else if err != nil {
		return cfg, 0, &feed.RequestError{Status: http.StatusBadRequest, Message: "the body is not a bench request: " + err.Error() +
			`; send {"clients":50,"duration":"5s","rate":1000,"runs":3,"transports":["sse","ws"]}`}
	}
	var msgs, fields []string
	bad := func(field, msg string) {
		fields = append(fields, field)
		msgs = append(msgs, msg)
	}
	if req.Clients != nil {
		if cfg.Clients = *req.Clients; cfg.Clients < 1 || cfg.Clients > MaxJobClients {
			bad("clients", fmt.Sprintf("clients %d is out of range; use 1 to %d per transport", cfg.Clients, MaxJobClients))
		}
	}
	if len(req.Duration) > 0 && string(req.Duration) != "null" {
		var s string
		var secs float64
		var err error
		if json.Unmarshal(req.Duration, &s) == nil {
			cfg.Duration, err = time.ParseDuration(s)
		} else if err = json.Unmarshal(req.Duration, &secs); err == nil {
			cfg.Duration = time.Duration(secs * float64(time.Second))
		}
		switch {
		case err != nil:
			bad("duration", fmt.Sprintf("duration %s is not a duration; use one like \"10s\" or a number of seconds", req.Duration))
		case cfg.Duration < time.Second || cfg.Duration > MaxJobDuration:
			bad("duration", fmt.Sprintf("duration %s is out of range; use 1s to %s", cfg.Duration, MaxJobDuration))
		}
	}
	if req.Rate != nil {
		if rate = *req.Rate; !(rate >= 1 && rate <= MaxJobRate) {
			bad("rate", fmt.Sprintf("rate %v is out of range; use 1 to %d quote events per second", rate, MaxJobRate))
		}
	}
	if req.Runs != nil {
		if cfg.Runs = *req.Runs; cfg.Runs < 1 || cfg.Runs > MaxJobRuns {
			bad("runs", fmt.Sprintf("runs %d is out of range; use 1 to %d runs per transport", cfg.Runs, MaxJobRuns))
		}
	} else if cfg.Duration > 0 {
		// By default as many runs as fit, up to 3.
		cfg.Runs = max(1, min(cfg.Runs, int(MaxJobWindow/cfg.Duration)))
	}
	if req.Transports != nil {
		cfg.Transports = nil
		for _, name := range req.Transports {
			t := feed.Transport(name)
			if !slices.Contains(feed.Transports(), t) {
				bad("transports", fmt.Sprintf("transports names %q, which is unknown; use sse, ws", t))
				break
			}
			if !slices.Contains(cfg.Transports, t) {
				cfg.Transports = append(cfg.Transports, t)
			}
		}
		if len(req.Transports) == 0 {
			bad("transports", "transports is empty; name sse, ws or both")
		}
	}
	if len(msgs) == 0 && time.Duration(cfg.Runs)*cfg.Duration > MaxJobWindow {
		bad("runs", fmt.Sprintf("runs × duration is %s of measuring per transport; keep it under %s (fewer runs or a shorter duration)",
			time.Duration(cfg.Runs)*cfg.Duration, MaxJobWindow))
		fields = append(fields, "duration")
	}
	if len(msgs) == 0 && float64(cfg.Clients)*rate > MaxJobLoad {
		bad("clients", fmt.Sprintf("clients × rate is %.0f quotes/s to deliver; keep it under %d (fewer clients or a lower rate)",
			float64(cfg.Clients)*rate, MaxJobLoad))
		fields = append(fields, "rate")
	}
	if len(msgs) > 0 {
		return cfg, 0, &feed.RequestError{Status: http.StatusBadRequest, Message: strings.Join(msgs, "; "), Fields: fields}
	}
	return cfg, rate, nil
}

// StartHandler serves POST /api/bench.
func (j *Jobs) StartHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg, rate, rerr := parseBenchRequest(r.Body)
		if rerr != nil {
			feed.WriteError(w, rerr)
			return
		}
		j.mu.Lock()
		if j.running != "" {
			id := j.running
			j.mu.Unlock()
			feed.WriteError(w, &feed.RequestError{Status: http.StatusConflict, Message: "a bench run is in progress; follow it or try again when it ends", Job: id})
			return
		}
		if j.ctx.Err() != nil || isClosed(j.opts.Done) {
			j.mu.Unlock()
			feed.WriteError(w, &feed.RequestError{Status: http.StatusServiceUnavailable, Message: "the server is shutting down"})
			return
		}
		j.next++
		jb := &job{id: strconv.Itoa(j.next), wake: make(chan struct{})}
		j.jobs[jb.id] = jb
		j.order = append(j.order, jb.id)
		if len(j.order) > keptJobs {
			delete(j.jobs, j.order[0])
			j.order = j.order[1:]
		}
		j.running = jb.id
		j.wg.Add(1)
		j.mu.Unlock()

		cfg.Rate, cfg.Symbols = rate, j.opts.Symbols
		cfg.Describe = "a fresh in-process server per run (rate " + strconv.FormatFloat(rate, 'g', -1, 64) +
			", symbols " + j.opts.Symbols + ")"
		cfg.Start = InProcess(j.opts.Server, ServerConfig{Rate: rate, Symbols: j.opts.Symbols, Seed: 1, MaxStreams: MaxJobClients + 10})
		jb.add(progressEvent{Job: jb.id, Status: "in_progress", Phase: "queued"})
		go j.run(jb, cfg)
		w.Header().Set("Location", "/api/jobs/"+jb.id+"/events")
		body, _ := json.Marshal(map[string]string{"job": jb.id})
		feed.WriteJSON(w, http.StatusAccepted, append(body, '\n'))
	})
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// run is a job's goroutine.
func (j *Jobs) run(jb *job, cfg Config) {
	defer j.wg.Done()
	ctx, cancel := context.WithCancel(j.ctx)
	defer cancel()
	if j.opts.Done != nil {
		watch := make(chan struct{})
		defer close(watch)
		go func() {
			select {
			case <-j.opts.Done:
				cancel()
			case <-watch:
			}
		}()
	}
	var last float64
	cfg.Progress = func(p Progress) {
		if p.Phase == "done" && p.Transport == "" {
			return // the job's own done, with the result, follows
		}
		last = max(last, p.Completion)
		jb.add(progressEvent{Job: jb.id, Status: "in_progress", Completion: round(last), Transport: p.Transport,
			Phase: p.Phase, Label: p.Label, Run: p.Run, Runs: p.Runs, Clients: p.Clients, EventsPerSec: round(p.EventsPerSec), ElapsedSeconds: round(p.Elapsed)})
	}
	start := time.Now()
	res, err := Run(ctx, cfg)
	// A run's servers and clients took hundreds of MB; the runtime would
	// give them back to the system only slowly, minutes after.
	debug.FreeOSMemory()
	// The run is over before its last event says so: a client that reads
	// it may start the next one at once.
	j.mu.Lock()
	j.running = ""
	j.mu.Unlock()
	if err != nil {
		j.opts.Logger.Warn("bench job failed", "job", jb.id, "err", err)
		jb.add(progressEvent{Job: jb.id, Status: "failed", Completion: round(last), Error: err.Error()})
		return
	}
	j.opts.Logger.Info("bench job done", "job", jb.id, "took", time.Since(start).Round(time.Millisecond))
	jb.add(progressEvent{Job: jb.id, Status: "done", Completion: 100, Result: res})
}

// EventsHandler serves GET /api/jobs/{id}/events.
func (j *Jobs) EventsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/jobs/"), "/events")
		j.mu.Lock()
		jb := j.jobs[id]
		j.mu.Unlock()
		if jb == nil {
			feed.WriteError(w, &feed.RequestError{Status: http.StatusNotFound,
				Message: "no such job: " + id + " (jobs are kept while the server runs, the last " + strconv.Itoa(keptJobs) + ")"})
			return
		}
		// Job events have ids from 1: a missing or bad id is the start.
		n, _ := strconv.Atoi(strings.TrimSpace(feed.LastEventID(r)))
		n = max(n, 0)
		if frames, ended, _ := jb.since(n); ended && len(frames) == 0 {
			// Everything was read: 204 tells EventSource not to reconnect.
			w.WriteHeader(http.StatusNoContent)
			return
		}
		es, err := feed.StartEventStream(w, 0, 0) // feed's retry and write timeout
		if err != nil {
			return
		}
		for {
			frames, ended, wake := jb.since(n)
			if len(frames) > 0 {
				if err := es.WriteBatch(frames); err != nil {
					return
				}
			}
			n += len(frames)
			if ended {
				return
			}
			select {
			case <-wake:
			case <-r.Context().Done():
				return
			case <-j.opts.Done:
				return
			}
		}
	})
}
