package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

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
		a.ctype = contentTypes[path.Ext(p)]
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

// contentTypes are the types of the files a dashboard build holds, by
// extension. The table is ours, not the mime package's: that one reads the
// host's MIME database on first use, which keeps about 440 KiB of heap for
// the life of the process, and answers as that host's files say. Any other
// file gets what http.DetectContentType makes of its bytes.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".svg":         "image/svg+xml",
	".json":        "application/json",
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".png":         "image/png",
	".ico":         "image/vnd.microsoft.icon",
	".woff2":       "font/woff2",
	".txt":         "text/plain; charset=utf-8",
	".gz":          "application/gzip",
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
