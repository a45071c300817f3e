// Package webui serves Lightbox's built-in web viewer: the study browser and
// the Cornerstone3D image viewer built from web/viewer and embedded in the
// binary with go:embed. Nothing is fetched from a CDN at run time: every
// script, style, worker and codec (WebAssembly) the viewer uses is in the
// embedded bundle, and the Content-Security-Policy sent with the page only
// allows the page's own origin.
//
// # Build and embedding
//
// `go generate ./internal/webui` runs web/viewer/build.sh, which installs the
// npm dependencies from package-lock.json when they are missing (npm ci) and
// runs the Vite build into internal/webui/dist. The build output is not
// committed: dist/ holds only a .gitignore on a clean clone, so `go build`
// works before the bundle is built, and the handler then answers every page
// with a short "viewer not built" page (HTTP 503) instead of the viewer.
// [Built] tells which of the two the binary holds.
//
// # Serving
//
// [Handler] is meant to be mounted at "/" after the more specific services
// (/dicom-web/, /api/, ...). It serves the bundle's files; hashed files under
// /assets/ are cached for a year (immutable), everything else is revalidated
// (ETag). Any other GET of a path that does not name a file
// (/viewer/studies/{uid} and the like) gets index.html, so deep links into
// the single-page application work. Paths that look like files (with an
// extension), paths under /assets/ and paths under the prefixes of other
// services are 404 when they do not exist, never index.html.
//
// The build also writes name.gz beside each large compressible file; a
// client that accepts gzip gets those bytes (Content-Encoding: gzip), so
// the viewer's few megabytes of script and WebAssembly cross the network
// at about a third of their size without compressing per request.
package webui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:generate sh ../../web/viewer/build.sh

//go:embed all:dist
var dist embed.FS

// reservedPrefixes belong to other services mounted beside the viewer; a
// request under them that reaches this handler is a 404, not the SPA.
var reservedPrefixes = []string{"/dicom-web/", "/api/", "/wado", "/healthz", "/metrics"}

// contentSecurityPolicy allows only the page's own origin. Workers are
// module workers from /assets; the codecs are WebAssembly
// ('wasm-unsafe-eval'); Cornerstone draws into canvases and uses blob:
// and data: URLs for images; encapsulated PDFs are shown in a frame from a
// blob: URL.
const contentSecurityPolicy = "default-src 'self'; " +
	"script-src 'self' 'wasm-unsafe-eval'; " +
	"worker-src 'self' blob:; " +
	"img-src 'self' data: blob:; " +
	"frame-src 'self' blob:; " + // encapsulated PDFs shown from blob: URLs
	"style-src 'self' 'unsafe-inline'; " +
	"connect-src 'self'; " +
	"font-src 'self' data:; " +
	"object-src 'none'; base-uri 'self'; frame-ancestors 'self'"

// file is one embedded file, held as the bytes embed gives (no copy).
type file struct {
	data  []byte
	etag  string
	ctype string
	gz    *file // the precompressed variant (name.gz), if the build made one
}

// handler serves the embedded bundle.
type handler struct {
	files map[string]*file // key: path without the leading "/"
	index *file            // nil when the bundle is not built
}

var _ http.Handler = (*handler)(nil)

// Built reports whether the binary embeds the built viewer bundle (and not
// only the placeholder of a clean clone).
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}

// Handler returns the http.Handler that serves the viewer, to be mounted at
// "/". It is safe for concurrent use.
func Handler() http.Handler {
	h, err := newHandler(dist, "dist")
	if err != nil {
		// The embedded FS is part of the binary: failing to read it is a
		// build defect, not a run-time condition.
		panic(fmt.Sprintf("webui: reading the embedded bundle: %v", err))
	}
	return h
}

// newHandler indexes the files under root in fsys.
func newHandler(fsys fs.FS, root string) (*handler, error) {
	h := &handler{files: map[string]*file{}}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel := strings.TrimPrefix(p, root+"/")
		if hidden(rel) {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		h.files[rel] = &file{
			data:  data,
			etag:  `"` + hex.EncodeToString(sum[:12]) + `"`,
			ctype: contentType(rel),
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// name.gz is the gzip variant of name, not a file of its own.
	for rel, f := range h.files {
		base, ok := strings.CutSuffix(rel, ".gz")
		if !ok {
			continue
		}
		if orig := h.files[base]; orig != nil {
			orig.gz = &file{data: f.data, etag: strings.TrimSuffix(orig.etag, `"`) + `-gz"`, ctype: orig.ctype}
			delete(h.files, rel)
		}
	}
	h.index = h.files["index.html"]
	return h, nil
}

// hidden reports whether a bundle path has a dot-file element (.gitignore):
// such files are kept out of what is served.
func hidden(rel string) bool {
	for _, el := range strings.Split(rel, "/") {
		if strings.HasPrefix(el, ".") {
			return true
		}
	}
	return false
}

// contentType returns the media type for a file name; WebAssembly must be
// application/wasm for streaming compilation.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".wasm":
		return "application/wasm"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json", ".map":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	upath := r.URL.Path
	if !strings.HasPrefix(upath, "/") {
		upath = "/" + upath
	}
	clean := path.Clean(upath)
	rel := strings.TrimPrefix(clean, "/")
	w.Header().Set("X-Content-Type-Options", "nosniff")

	if f, ok := h.files[rel]; ok && rel != "index.html" {
		if strings.HasPrefix(rel, "assets/") {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		serveFile(w, r, rel, f)
		return
	}
	if !spaRoute(clean) && clean != "/index.html" {
		http.NotFound(w, r)
		return
	}
	if h.index == nil {
		servePlaceholder(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	w.Header().Set("Referrer-Policy", "no-referrer")
	serveFile(w, r, "index.html", h.index)
}

// spaRoute reports whether a cleaned request path is a page of the
// single-page application (answered with index.html) rather than a
// missing file or another service's path.
func spaRoute(clean string) bool {
	if strings.HasPrefix(clean, "/assets/") || clean == "/assets" {
		return false
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(clean+"/", p) || strings.HasPrefix(clean, p) {
			return false
		}
	}
	// A last element with an extension names a file (favicon.ico,
	// app.js.map); DICOM UIDs contain dots too, but only in paths under
	// /viewer/, where every element is a route parameter.
	if strings.HasPrefix(clean, "/viewer/") || clean == "/viewer" {
		return true
	}
	return path.Ext(clean) == ""
}

// serveFile writes f with its ETag, honouring conditional and range
// requests (http.ServeContent). A client that accepts gzip gets the
// precompressed variant, unless it asks for a byte range.
func serveFile(w http.ResponseWriter, r *http.Request, name string, f *file) {
	if f.gz != nil {
		w.Header().Add("Vary", "Accept-Encoding")
		if r.Header.Get("Range") == "" && acceptsGzip(r.Header.Values("Accept-Encoding")) {
			w.Header().Set("Content-Encoding", "gzip")
			f = f.gz
		}
	}
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("ETag", f.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.data))
}

// acceptsGzip reports whether Accept-Encoding values allow gzip: a gzip
// (or x-gzip, or *) coding whose q-value is not zero (RFC 9110 12.5.3).
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "x-gzip" && coding != "*" {
				continue
			}
			if qZero(params) {
				continue
			}
			return true
		}
	}
	return false
}

// qZero reports whether coding parameters hold q=0 (0, 0.0, 0.000 ...).
func qZero(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		v = strings.TrimSpace(v)
		if v == "0" || (strings.HasPrefix(v, "0.") && strings.Trim(v[2:], "0") == "") {
			return true
		}
	}
	return false
}

// placeholderHTML is the page a binary built before the viewer bundle
// answers with.
const placeholderHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lightbox: viewer not built</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Lightbox</h1>
<p>The web viewer bundle is not built into this binary.</p>
<p>Build it with <code>go generate ./internal/webui</code> (runs <code>npm ci</code> and the
Vite build in <code>web/viewer</code>), then rebuild the binary. The DICOMweb services
under <code>/dicom-web/</code> work without it.</p>
</body></html>
`

func servePlaceholder(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(placeholderHTML))
	}
}
