package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/pprof"
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
	symbols     []market.Symbol
	registry    *prometheus.Registry
	dist        fs.FS
	corsOrigins []string
	pprof       bool
	// health returns why the node should get no new clients, or nil.
	health func() *cutOffError
}

// routes returns the whole HTTP surface of the server: every route is here.
func routes(d routeDeps) (http.Handler, error) {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(methodNotAllowed)

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
	r.Handle("/api/snapshot", api(snapshotHandler(d.hub.Log()))).Methods(apiMethods(http.MethodGet)...)
	r.Handle("/api/bench", api(d.jobs.StartHandler())).Methods(apiMethods(http.MethodPost)...)
	r.Handle("/api/jobs/{id}/events", api(d.jobs.EventsHandler())).Methods(apiMethods(http.MethodGet)...)
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
		Message: fmt.Sprintf("no such endpoint: %s (see the README for the API)", r.URL.Path)})
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	feed.WriteError(w, &feed.RequestError{Status: http.StatusMethodNotAllowed,
		Message: fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path)})
}

// snapshotHandler serves GET /api/snapshot: the snapshot event's data.
func snapshotHandler(log *feed.Log) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := log.ParseQuery(r.URL.RawQuery, feed.QueryLimits{})
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
