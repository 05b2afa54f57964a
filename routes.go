package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/http/pprof"
	"path"
	"strings"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/cors"

	"tickertape/compare"
	"tickertape/feed"
	"tickertape/market"
)

// routeDeps is what the routes are made of.
type routeDeps struct {
	hub         *feed.Hub
	history     http.Handler // GET /api/history
	symbols     []market.Symbol
	registry    *prometheus.Registry
	dist        fs.FS
	corsOrigins []string
	pprof       bool
	logger      *slog.Logger
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
		writeJSON(w, http.StatusOK, symbolsJSON)
	}))).Methods(apiMethods(http.MethodGet)...)
	r.Handle("/api/snapshot", api(snapshotHandler(d.hub.Log()))).Methods(apiMethods(http.MethodGet)...)
	r.Handle("/api/history", api(d.history)).Methods(apiMethods(http.MethodGet)...)
	// Bench runs from the dashboard; they end when the server shuts down.
	jobs := compare.NewJobs(compare.JobsOptions{Done: d.hub.Log().Done(), Logger: d.logger})
	r.Handle("/api/bench", api(jobs.StartHandler())).Methods(apiMethods(http.MethodPost)...)
	r.Handle("/api/jobs/{id}/events", api(jobs.EventsHandler())).Methods(apiMethods(http.MethodGet)...)
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
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

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
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
		writeJSON(w, http.StatusOK, data)
	})
}

// asset is one dashboard file, ready to serve.
type asset struct {
	body  []byte
	br    []byte // Brotli of body, when the build made one
	gz    []byte // gzip of body: the build's, or made here when worth it
	ctype string
	etag  string
}

// static serves the dashboard from memory: hashed assets cached forever,
// index.html revalidated by ETag, gzip when the client takes it, and
// index.html for every extension-less path (the dashboard's own routes).
type static struct {
	files map[string]*asset
}

func newStatic(dist fs.FS) (*static, error) {
	s := &static{files: map[string]*asset{}}
	err := fs.WalkDir(dist, ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		body, err := fs.ReadFile(dist, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := &asset{body: body, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
		a.ctype = mime.TypeByExtension(path.Ext(p))
		if a.ctype == "" {
			a.ctype = http.DetectContentType(body)
		}
		if compressible(a.ctype) && len(body) > 512 {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			if buf.Len() < len(body) {
				a.gz = buf.Bytes()
			}
		}
		s.files["/"+p] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard files: %w", err)
	}
	if s.files["/index.html"] == nil {
		return nil, fmt.Errorf("dashboard files: no index.html (build ui/ into ui/dist)")
	}
	// The build precompresses assets as NAME.br and NAME.gz: serve those
	// for NAME (and keep them reachable by their own names too).
	for name, a := range s.files {
		if br := s.files[name+".br"]; br != nil {
			a.br = br.body
		}
		if gz := s.files[name+".gz"]; gz != nil {
			a.gz = gz.body
		}
	}
	return s, nil
}

func compressible(ctype string) bool {
	for _, p := range []string{"text/", "application/javascript", "application/json", "image/svg+xml", "application/manifest+json"} {
		if strings.HasPrefix(ctype, p) {
			return true
		}
	}
	return false
}

func (s *static) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		methodNotAllowed(w, r)
		return
	}
	p := path.Clean("/" + r.URL.Path)
	a, ok := s.files[p]
	immutable := ok && strings.HasPrefix(p, "/assets/")
	if !ok {
		if path.Ext(p) != "" {
			http.Error(w, "404 not found: "+p, http.StatusNotFound)
			return
		}
		a = s.files["/index.html"] // the dashboard routes itself
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if a.gz != nil || a.br != nil {
		h.Set("Vary", "Accept-Encoding")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	ae := r.Header.Get("Accept-Encoding")
	switch {
	case a.br != nil && accepts(ae, "br"):
		h.Set("Content-Encoding", "br")
		body = a.br
	case a.gz != nil && accepts(ae, "gzip"):
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

// accepts reports whether an Accept-Encoding header takes coding.
func accepts(ae, coding string) bool {
	for _, part := range strings.Split(ae, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), coding) {
			q := strings.TrimSpace(params)
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
