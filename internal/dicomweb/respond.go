package dicomweb

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// ErrForbidden, wrapped by an Authorizer's error, gives 403 rather than 401.
var ErrForbidden = errors.New("dicomweb: forbidden")

// HTTPError is an error with the HTTP status it is answered with.
type HTTPError struct {
	Status int
	Msg    string
	Err    error
}

func (e *HTTPError) Error() string {
	if e.Err != nil && e.Msg == "" {
		return e.Err.Error()
	}
	return e.Msg
}

func (e *HTTPError) Unwrap() error { return e.Err }

func errorf(status int, format string, args ...any) error {
	return &HTTPError{Status: status, Msg: fmt.Sprintf(format, args...)}
}

func authError(err error) error {
	st := http.StatusUnauthorized
	if errors.Is(err, ErrForbidden) {
		st = http.StatusForbidden
	}
	return &HTTPError{Status: st, Msg: err.Error(), Err: err}
}

// statusOf maps an error to its HTTP status.
func statusOf(err error) (int, string) {
	var he *HTTPError
	switch {
	case errors.As(err, &he):
		return he.Status, he.Error()
	case errors.Is(err, archive.ErrNotFound), errors.Is(err, index.ErrNotFound):
		return http.StatusNotFound, err.Error()
	case errors.Is(err, index.ErrInvalidQuery), errors.Is(err, index.ErrUnsupportedKey):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, archive.ErrClosed), errors.Is(err, index.ErrClosed):
		return http.StatusServiceUnavailable, "the archive is shutting down"
	}
	return http.StatusInternalServerError, err.Error()
}

// writeError answers with the status of err and a JSON body carrying a
// readable message.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	st, msg := statusOf(err)
	if st >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", st, "err", err)
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", st, "err", err)
	}
	h := w.Header()
	for _, k := range []string{"Content-Encoding", "Content-Length", "ETag", "Last-Modified", "Content-Range"} {
		h.Del(k)
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(st)
	buf := []byte(`{"status":`)
	buf = strconv.AppendInt(buf, int64(st), 10)
	buf = append(buf, `,"errorMessage":`...)
	buf = strconv.AppendQuote(buf, msg)
	buf = append(buf, "}\n"...)
	w.Write(buf)
}

// cors applies the CORS policy; it returns true when it answered a preflight.
func (s *Service) cors(w http.ResponseWriter, r *http.Request) bool {
	return applyCORS(s.opts.CORS, w, r)
}

func applyCORS(c CORSOptions, w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || len(c.AllowedOrigins) == 0 {
		return false
	}
	allowed, any := false, false
	for _, o := range c.AllowedOrigins {
		if o == "*" {
			any = true
			allowed = true
			break
		}
		if strings.EqualFold(o, origin) {
			allowed = true
			break
		}
	}
	if !allowed {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	if any && !c.AllowCredentials {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, DELETE, OPTIONS")
		if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
			h.Set("Access-Control-Allow-Headers", rh)
		}
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge.Seconds())))
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	h.Set("Access-Control-Expose-Headers", "Content-Type, Content-Length, Content-Range, ETag, Last-Modified, Warning, Location")
	return false
}

var gzipPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return w
}}

// acceptsGzip reports whether the request accepts a gzip content coding.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			if q, ok := qParam(params); ok && q == 0 {
				return false
			}
			return true
		}
	}
	return false
}

// jsonWriter starts a JSON response with status, gzip-compressed when the
// client accepts it. The caller writes the body and calls the returned
// close function.
func jsonWriter(w http.ResponseWriter, r *http.Request, ctype string, status int) (io.Writer, func() error) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Add("Vary", "Accept-Encoding")
	if !acceptsGzip(r) || r.Method == http.MethodHead {
		w.WriteHeader(status)
		if r.Method == http.MethodHead {
			return io.Discard, func() error { return nil }
		}
		return w, func() error { return nil }
	}
	h.Set("Content-Encoding", "gzip")
	h.Del("Content-Length")
	w.WriteHeader(status)
	gz := gzipPool.Get().(*gzip.Writer)
	gz.Reset(w)
	return gz, func() error {
		err := gz.Close()
		gz.Reset(io.Discard)
		gzipPool.Put(gz)
		return err
	}
}

// writeJSON writes a complete JSON body.
func writeJSON(w http.ResponseWriter, r *http.Request, ctype string, status int, body []byte) error {
	if !acceptsGzip(r) || len(body) < 1024 {
		w.Header().Set("Content-Type", ctype)
		w.Header().Add("Vary", "Accept-Encoding")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, err := w.Write(body)
			return err
		}
		return nil
	}
	out, done := jsonWriter(w, r, ctype, status)
	if _, err := out.Write(body); err != nil {
		return err
	}
	return done()
}

// validators are a response's ETag and Last-Modified.
type validators struct {
	etag    string // quoted
	lastMod time.Time
}

// set writes the validators and reports whether the request's conditions
// make the response a 304 (which it has then written).
func (v validators) notModified(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	if v.etag != "" {
		h.Set("ETag", v.etag)
	}
	if !v.lastMod.IsZero() {
		h.Set("Last-Modified", v.lastMod.UTC().Format(http.TimeFormat))
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if v.etag != "" && etagMatch(inm, v.etag) {
			w.WriteHeader(http.StatusNotModified)
			return true
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && !v.lastMod.IsZero() {
		if t, err := http.ParseTime(ims); err == nil && !v.lastMod.Truncate(time.Second).After(t) {
			w.WriteHeader(http.StatusNotModified)
			return true
		}
	}
	return false
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
