package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/http/pprof"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/cors"

	"tickertape/compare"
	"tickertape/compare/bench"
	"tickertape/feed"
	"tickertape/market"
)

// routeDeps is what the routes are made of.
type routeDeps struct {
	hub         *feed.Hub
	jobs        *bench.Jobs
	history     http.Handler // GET /api/history
	trades      http.Handler // GET /api/trades
	symbols     []market.Symbol
	registry    *prometheus.Registry
	dist        fs.FS
	corsOrigins []string
	pprof       bool
	benchAPI    bool             // serve the bench's job API (-bench-api)
	query       feed.QueryLimits // the streams' limits, which /api/snapshot keeps too
	// health returns why the node should get no new clients, or nil.
	health func() *cutOffError
}

// routes returns the whole HTTP surface of the server: every route is here.
func routes(d routeDeps) (http.Handler, error) {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Allow", strings.Join(allowedMethods(r, req), ", "))
		methodNotAllowed(w, req)
	})

	// api wraps a handler in CORS when origins are configured. With none,
	// there is no CORS handler at all: rs/cors reads an empty list as
	// "allow every origin".
	api := func(h http.Handler) http.Handler { return h }
	apiMethods := func(m ...string) []string { return m }
	if len(d.corsOrigins) > 0 {
		c := cors.New(cors.Options{
			AllowedOrigins: d.corsOrigins,
			AllowedMethods: []string{http.MethodGet, http.MethodPost},
			// rs/cors's default list lacks Last-Event-ID, which a
			// cross-origin resume sends.
			AllowedHeaders:   []string{"Last-Event-ID", "Content-Type", "Cache-Control"},
			AllowCredentials: false,
		})
		api = c.Handler
		apiMethods = func(m ...string) []string { return append(m, http.MethodOptions) }
	}

	r.Handle("/events", api(d.hub.SSEHandler())).Methods(apiMethods(http.MethodGet)...)
	r.Handle("/ws", api(compare.Handler(d.hub, d.corsOrigins))).Methods(apiMethods(http.MethodGet)...)
	symbolsJSON, err := json.Marshal(d.symbols)
	if err != nil {
		return nil, fmt.Errorf("routes: symbols: %w", err)
	}
	r.Handle("/api/symbols", api(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		feed.WriteJSON(w, http.StatusOK, symbolsJSON)
	}))).Methods(apiMethods(http.MethodGet)...)
	r.Handle("/api/snapshot", api(snapshotHandler(d.hub.Log(), d.query))).Methods(apiMethods(http.MethodGet)...)
	r.Handle("/api/history", api(d.history)).Methods(apiMethods(http.MethodGet)...)
	r.Handle("/api/trades", api(d.trades)).Methods(apiMethods(http.MethodGet)...)
	if d.benchAPI {
		r.Handle("/api/bench", api(dashboardOnly(d.corsOrigins, d.jobs.StartHandler()))).Methods(apiMethods(http.MethodPost)...)
		r.Handle("/api/jobs/{id}/events", api(d.jobs.EventsHandler())).Methods(apiMethods(http.MethodGet)...)
	} else {
		off := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			feed.WriteError(w, &feed.RequestError{Status: http.StatusNotFound,
				Message: "bench runs over HTTP are off on this server (-bench-api=false); run tickertape bench from a shell"})
		})
		r.Handle("/api/bench", off)
		r.PathPrefix("/api/jobs/").Handler(off)
	}
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		var bad *cutOffError
		if d.health != nil {
			bad = d.health()
		}
		if bad != nil {
			body, _ := json.Marshal(map[string]string{
				"error": bad.Error(), "reason": "broker", "since": bad.since.UTC().Format(time.RFC3339),
			})
			feed.WriteJSON(w, http.StatusServiceUnavailable, body)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "ok")
	}).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/metrics", promhttp.HandlerFor(d.registry, promhttp.HandlerOpts{})).Methods(http.MethodGet)
	if d.pprof {
		r.HandleFunc("/debug/pprof/", pprof.Index)
		r.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		r.HandleFunc("/debug/pprof/profile", pprof.Profile)
		r.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		r.HandleFunc("/debug/pprof/trace", pprof.Trace)
		r.PathPrefix("/debug/pprof/").HandlerFunc(pprof.Index)
	}

	static, err := newStatic(d.dist)
	if err != nil {
		return nil, err
	}
	// The dashboard takes every path that is not an API path.
	r.MatcherFunc(func(req *http.Request, _ *mux.RouteMatch) bool { return !isAPIPath(req.URL.Path) }).Handler(static)
	return r, nil
}

// isAPIPath reports whether p belongs to the API, whose unknown paths get a
// JSON 404 rather than the dashboard.
func isAPIPath(p string) bool {
	for _, prefix := range []string{"/api", "/events", "/ws", "/metrics", "/healthz", "/debug/pprof"} {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return false
}

func notFound(w http.ResponseWriter, r *http.Request) {
	feed.WriteError(w, &feed.RequestError{Status: http.StatusNotFound,
		Message: fmt.Sprintf("no such endpoint: %s (the API is in docs/API.md)", r.URL.Path)})
}

// allowedMethods returns the methods that router serves on req's path, for
// a 405's Allow header: each method is tried against the routes, so the
// header cannot disagree with them.
func allowedMethods(router *mux.Router, req *http.Request) []string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		try := req.Clone(req.Context())
		try.Method = m
		var match mux.RouteMatch
		if router.Match(try, &match) && match.MatchErr == nil {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

// methodNotAllowed writes a 405; the caller has set its Allow header.
func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	feed.WriteError(w, &feed.RequestError{Status: http.StatusMethodNotAllowed,
		Message: fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path)})
}

// dashboardOnly lets through only a request that a page other than the
// dashboard (or one -cors-origins allows) cannot send: an Origin that is
// the server's own or allowed, and a JSON body, which a cross-origin page
// cannot send without a CORS preflight. A request without Origin is not a
// browser's (a browser always sends it on a cross-origin POST): curl and
// scripts may start a run.
func dashboardOnly(corsOrigins []string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := compare.CheckOrigin(r, corsOrigins); err != nil {
			feed.WriteError(w, &feed.RequestError{Status: http.StatusForbidden, Message: err.Error()})
			return
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			feed.WriteError(w, &feed.RequestError{Status: http.StatusUnsupportedMediaType,
				Message: "send the bench request as JSON, with Content-Type: application/json"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// snapshotHandler serves GET /api/snapshot: the snapshot event's data, for
// the symbols asked for, with the query rules and limits of /events. Its
// one parameter is symbols: events, throttle and lastEventId shape a
// stream, and a snapshot's content depends on symbols only, so they are
// refused with any other parameter, in the error that names every bad
// value.
func snapshotHandler(log *feed.Log, lim feed.QueryLimits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			feed.WriteError(w, &feed.RequestError{Status: http.StatusBadRequest, Message: fmt.Sprintf("malformed query: %v", err)})
			return
		}
		var unknown []string
		for k := range q {
			if k != "symbols" {
				unknown = append(unknown, k)
				delete(q, k)
			}
		}
		f, err := log.ParseQuery(q.Encode(), lim)
		if len(unknown) > 0 {
			slices.Sort(unknown)
			quoted := make([]string, len(unknown))
			for i, k := range unknown {
				quoted[i] = strconv.Quote(k)
			}
			bad := &feed.RequestError{Status: http.StatusBadRequest, UnknownParams: unknown,
				Message: "unknown query parameter(s) " + strings.Join(quoted, ", ") + "; /api/snapshot takes only symbols (events, throttle and lastEventId are a stream's)"}
			if re, ok := errors.AsType[*feed.RequestError](err); ok {
				bad.Message += "; " + re.Message
				bad.UnknownSymbols = re.UnknownSymbols
			}
			err = bad
		}
		if err != nil {
			feed.WriteError(w, err)
			return
		}
		data, id := log.Snapshot(f.Symbols)
		if id != 0 {
			w.Header().Set("X-Last-Event-ID", fmt.Sprint(id))
		}
		feed.WriteJSON(w, http.StatusOK, data)
	})
}
