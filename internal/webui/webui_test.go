package webui

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func testBundle() fstest.MapFS {
	return fstest.MapFS{
		"dist/.gitignore":             {Data: []byte("*\n")},
		"dist/index.html":             {Data: []byte("<!doctype html><title>viewer</title>")},
		"dist/assets/index-abc123.js": {Data: []byte("console.log(1)")},
		"dist/assets/codec-x.wasm":    {Data: []byte("\x00asm")},
		"dist/robots.txt":             {Data: []byte("User-agent: *\n")},
	}
}

func TestHandler(t *testing.T) {
	h, err := newHandler(testBundle(), "dist")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path string
		status             int
		ctype, body, cache string
		csp                bool
	}{
		{"home", "GET", "/", 200, "text/html; charset=utf-8", "<title>viewer", "no-cache", true},
		{"index by name", "GET", "/index.html", 200, "text/html; charset=utf-8", "<title>viewer", "no-cache", true},
		{"study deep link", "GET", "/viewer/studies/1.2.840.113619.2.55.3", 200, "text/html; charset=utf-8", "<title>viewer", "no-cache", true},
		{"image deep link", "GET", "/viewer/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5/frames/2", 200, "text/html; charset=utf-8", "<title>viewer", "no-cache", true},
		{"search query", "GET", "/?name=Doe*&mod=CT", 200, "text/html; charset=utf-8", "<title>viewer", "no-cache", true},
		{"other page", "GET", "/settings", 200, "text/html; charset=utf-8", "<title>viewer", "no-cache", true},
		{"head", "HEAD", "/viewer/studies/1.2.3", 200, "text/html; charset=utf-8", "", "no-cache", true},
		{"hashed asset", "GET", "/assets/index-abc123.js", 200, "text/javascript; charset=utf-8", "console.log", "public, max-age=31536000, immutable", false},
		{"wasm", "GET", "/assets/codec-x.wasm", 200, "application/wasm", "\x00asm", "public, max-age=31536000, immutable", false},
		{"plain file", "GET", "/robots.txt", 200, "text/plain; charset=utf-8", "User-agent", "no-cache", false},
		{"missing asset", "GET", "/assets/gone-123.js", 404, "", "", "", false},
		{"missing file", "GET", "/favicon.ico", 404, "", "", "", false},
		{"dot file hidden", "GET", "/.gitignore", 404, "", "", "", false},
		{"dicomweb not ours", "GET", "/dicom-web/studies", 404, "", "", "", false},
		{"api not ours", "GET", "/api/v1/studies", 404, "", "", "", false},
		{"traversal", "GET", "/assets/../../webui.go", 404, "", "", "", false},
		{"post", "POST", "/", 405, "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			res := rec.Result()
			if res.StatusCode != tt.status {
				t.Fatalf("%s %s: status %d, want %d", tt.method, tt.path, res.StatusCode, tt.status)
			}
			if tt.status != 200 {
				return
			}
			if got := res.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if got := res.Header.Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control %q, want %q", got, tt.cache)
			}
			if got := res.Header.Get("ETag"); got == "" {
				t.Error("no ETag")
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
			csp := res.Header.Get("Content-Security-Policy")
			if tt.csp != (csp != "") {
				t.Errorf("Content-Security-Policy %q, want one: %v", csp, tt.csp)
			}
			if tt.csp && (!strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "http")) {
				t.Errorf("Content-Security-Policy %q allows more than the page's origin", csp)
			}
			if !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("body %q lacks %q", rec.Body.String(), tt.body)
			}
		})
	}
}

func TestConditionalGet(t *testing.T) {
	h, err := newHandler(testBundle(), "dist")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/viewer/studies/1.2.3", nil))
	etag := rec.Result().Header.Get("ETag")
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match with the index's ETag: status %d, want 304", rec.Code)
	}
}

// TestPlaceholder: a clean clone (dist/ holding only .gitignore) builds and
// answers pages with the "not built" page.
func TestPlaceholder(t *testing.T) {
	h, err := newHandler(fstest.MapFS{"dist/.gitignore": {Data: []byte("*\n")}}, "dist")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/viewer/studies/1.2.3"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "go generate ./internal/webui") {
			t.Errorf("GET %s without a bundle: %d %q", p, rec.Code, rec.Body.String())
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/assets/x.js", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("asset without a bundle: %d, want 404", rec.Code)
	}
}

// TestEmbedded checks the real embedded bundle, whichever it is: built
// (index.html and its assets) or the placeholder.
func TestEmbedded(t *testing.T) {
	h := Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if !Built() {
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("unbuilt bundle: GET / = %d, want 503", rec.Code)
		}
		t.Log("viewer bundle not built (go generate ./internal/webui): checked the placeholder only")
		return
	}
	if rec.Code != http.StatusOK {
		t.Fatalf("GET / = %d", rec.Code)
	}
	body := rec.Body.String()
	// Scripts and styles are referenced by path, never by URL.
	for _, l := range strings.Split(body, "\n") {
		if (strings.Contains(l, "src=") || strings.Contains(l, "href=")) &&
			(strings.Contains(l, "http://") || strings.Contains(l, "https://")) {
			t.Errorf("index.html loads from another origin: %s", strings.TrimSpace(l))
		}
	}
	// Every asset index.html names is served.
	for _, ref := range assetRefs(body) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", ref, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s (named by index.html) = %d", ref, rec.Code)
		}
	}
}

// assetRefs returns the /assets/... paths quoted in an HTML page.
func assetRefs(html string) []string {
	var refs []string
	for _, part := range strings.Split(html, `"`) {
		if strings.HasPrefix(part, "/assets/") {
			refs = append(refs, part)
		}
	}
	return refs
}

func TestPrecompressed(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("console.log(1)"))
	zw.Close()
	fsys := testBundle()
	fsys["dist/assets/index-abc123.js.gz"] = &fstest.MapFile{Data: gz.Bytes()}
	h, err := newHandler(fsys, "dist")
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string, headers ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	rec := get("/assets/index-abc123.js", "Accept-Encoding", "gzip, deflate, br")
	if rec.Code != 200 || rec.Header().Get("Content-Encoding") != "gzip" || !bytes.Equal(rec.Body.Bytes(), gz.Bytes()) {
		t.Errorf("gzip accepted: %d, Content-Encoding %q, %d bytes", rec.Code, rec.Header().Get("Content-Encoding"), rec.Body.Len())
	}
	if rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" || rec.Header().Get("Vary") != "Accept-Encoding" {
		t.Errorf("gzip variant headers: %v", rec.Header())
	}
	gzTag := rec.Header().Get("ETag")

	rec = get("/assets/index-abc123.js")
	if rec.Header().Get("Content-Encoding") != "" || rec.Body.String() != "console.log(1)" {
		t.Errorf("no Accept-Encoding: Content-Encoding %q, body %q", rec.Header().Get("Content-Encoding"), rec.Body.String())
	}
	if rec.Header().Get("ETag") == gzTag {
		t.Error("the gzip variant has the same ETag as the identity one")
	}
	rec = get("/assets/index-abc123.js", "Accept-Encoding", "gzip", "Range", "bytes=0-6")
	if rec.Code != http.StatusPartialContent || rec.Body.String() != "console" {
		t.Errorf("range request: %d %q", rec.Code, rec.Body.String())
	}
	if rec := get("/assets/index-abc123.js.gz"); rec.Code != http.StatusNotFound {
		t.Errorf("the .gz variant is served under its own name: %d", rec.Code)
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"deflate, gzip;q=1.0, *;q=0.5", true},
		{"br, zstd", false},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"gzip;q=0.001", true},
		{"*", true},
		{"identity", false},
		{"x-gzip", true},
	}
	for _, tt := range tests {
		if got := acceptsGzip([]string{tt.header}); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}
