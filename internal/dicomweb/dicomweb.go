package dicomweb

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/archive"
)

// DefaultPrefix is the path under which the services are mounted.
const DefaultPrefix = "/dicom-web"

// Options configure a Service. The zero value is usable.
type Options struct {
	// Logger receives request errors and warnings; nil discards them.
	Logger *slog.Logger
	// Prefix is the path the handler is mounted at; "" means DefaultPrefix.
	// The handler expects request paths that include it.
	Prefix string
	// BaseURL is the external URL of the prefix (e.g.
	// "https://pacs.example.org/dicom-web") used in RetrieveURL and
	// BulkDataURI values; "" derives it from each request (scheme, Host).
	BaseURL string
	// TrustForwarded derives the scheme and host of that URL from
	// X-Forwarded-Proto and X-Forwarded-Host, for a server behind a reverse
	// proxy that sets them (and strips them from clients).
	TrustForwarded bool
	// MaxResults caps a QIDO-RS response when the request gives no smaller
	// limit; 0 means 1000. A capped response carries a Warning header.
	MaxResults int
	// CORS configures cross-origin access; the zero value allows none.
	CORS CORSOptions
	// Authorizer decides whether a request may perform an action; nil
	// allows everything (until the security work).
	Authorizer Authorizer
	// Transcoder converts instances and frames to transfer syntaxes other
	// than the stored one; nil means only stored bytes are served.
	Transcoder Transcoder
	// TempDir holds STOW-RS parts spooled to check their Study Instance
	// UID against the request path; "" means os.TempDir().
	TempDir string
	// MetadataCacheBytes bounds the /metadata cache; 0 means 64 MiB, a
	// negative value disables it.
	MetadataCacheBytes int64
	// MaxStowParts bounds the parts of one STOW-RS request; 0 means 100000.
	MaxStowParts int
}

// CORSOptions configure Cross-Origin Resource Sharing.
type CORSOptions struct {
	// AllowedOrigins lists origins allowed to call the services; "*"
	// allows any origin. Empty disables CORS headers.
	AllowedOrigins []string
	// AllowCredentials lets browsers send cookies and HTTP authentication.
	AllowCredentials bool
	// MaxAge is how long browsers may cache a preflight answer; 0 means 10 minutes.
	MaxAge time.Duration
}

// Action names what a request does, for the Authorizer.
type Action string

// The actions requests perform.
const (
	ActionSearch   Action = "search"
	ActionRetrieve Action = "retrieve"
	ActionStore    Action = "store"
	ActionDelete   Action = "delete"
)

// Resource names the entity a request acts on; empty fields are unknown or
// not applicable (a search over all studies has none).
type Resource struct {
	StudyInstanceUID  string
	SeriesInstanceUID string
	SOPInstanceUID    string
}

// Authorizer decides whether a request may perform an action on a
// resource. A non-nil error denies it; an error wrapping ErrForbidden gives
// 403, any other 401.
type Authorizer interface {
	Authorize(r *http.Request, action Action, res Resource) error
}

// AllowAll is the Authorizer that allows everything.
type AllowAll struct{}

// Authorize allows every request.
func (AllowAll) Authorize(*http.Request, Action, Resource) error { return nil }

// Service serves the DICOMweb services over an archive. It is an
// http.Handler and is safe for concurrent use.
type Service struct {
	arch   *archive.Archive
	opts   Options
	log    *slog.Logger
	mux    *http.ServeMux
	auth   Authorizer
	mdc    *metaCache
	prefix string
}

var _ http.Handler = (*Service)(nil)

// New returns the DICOMweb service over arch, which the caller keeps owning.
func New(arch *archive.Archive, opts Options) *Service {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	opts.Prefix = "/" + strings.Trim(opts.Prefix, "/")
	if opts.Prefix == "/" {
		opts.Prefix = ""
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if opts.MaxResults <= 0 {
		opts.MaxResults = 1000
	}
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	if opts.MetadataCacheBytes == 0 {
		opts.MetadataCacheBytes = 64 << 20
	}
	if opts.MaxStowParts <= 0 {
		opts.MaxStowParts = 100000
	}
	if opts.CORS.MaxAge == 0 {
		opts.CORS.MaxAge = 10 * time.Minute
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		arch:   arch,
		opts:   opts,
		log:    log.With("component", "dicomweb"),
		auth:   opts.Authorizer,
		prefix: opts.Prefix,
		mdc:    newMetaCache(opts.MetadataCacheBytes),
	}
	if s.auth == nil {
		s.auth = AllowAll{}
	}
	s.routes()
	return s
}

// Protocols returns the protocols an HTTP server for the service should
// accept: HTTP/1.1, and HTTP/2 both over TLS and in cleartext (h2c).
func Protocols() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	return p
}

func (s *Service) routes() {
	m := http.NewServeMux()
	p := s.prefix
	h := func(pattern string, fn func(w http.ResponseWriter, r *http.Request) error) {
		method, path, _ := strings.Cut(pattern, " ")
		m.Handle(method+" "+p+path, s.wrap(fn))
	}
	// QIDO-RS
	h("GET /studies", s.searchStudies)
	h("GET /series", s.searchSeries)
	h("GET /instances", s.searchInstances)
	h("GET /studies/{study}/series", s.searchSeries)
	h("GET /studies/{study}/instances", s.searchInstances)
	h("GET /studies/{study}/series/{series}/instances", s.searchInstances)

	// WADO-RS
	h("GET /studies/{study}", s.retrieve)
	h("GET /studies/{study}/series/{series}", s.retrieve)
	h("GET /studies/{study}/series/{series}/instances/{instance}", s.retrieve)
	h("GET /studies/{study}/metadata", s.metadata)
	h("GET /studies/{study}/series/{series}/metadata", s.metadata)
	h("GET /studies/{study}/series/{series}/instances/{instance}/metadata", s.metadata)
	h("GET /studies/{study}/series/{series}/instances/{instance}/frames/{frames}", s.frames)
	h("GET /studies/{study}/series/{series}/instances/{instance}/bulkdata/{path...}", s.bulkdata)
	for _, r := range []string{"rendered", "thumbnail"} {
		h("GET /studies/{study}/"+r, s.rendered)
		h("GET /studies/{study}/series/{series}/"+r, s.rendered)
		h("GET /studies/{study}/series/{series}/instances/{instance}/"+r, s.rendered)
		h("GET /studies/{study}/series/{series}/instances/{instance}/frames/{frames}/"+r, s.rendered)
	}

	// STOW-RS
	h("POST /studies", s.store)
	h("POST /studies/{study}", s.store)

	// DELETE
	h("DELETE /studies/{study}", s.delete)
	h("DELETE /studies/{study}/series/{series}", s.delete)
	h("DELETE /studies/{study}/series/{series}/instances/{instance}", s.delete)

	// WADO-URI
	h("GET /wado", s.wadoURI)

	m.Handle(p+"/", s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusNotFound, "no DICOMweb resource at %s", r.URL.Path)
	}))
	s.mux = m
}

// ServeHTTP serves one request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cors(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// WADOURIHandler returns a handler serving WADO-URI requests at any path
// (servers usually mount it at /wado as well as under the prefix).
func (s *Service) WADOURIHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cors(w, r) {
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.writeError(w, r, errorf(http.StatusMethodNotAllowed, "WADO-URI supports GET only"))
			return
		}
		s.wrap(s.wadoURI).ServeHTTP(w, r)
	})
}

// wrap turns a handler returning an error into an http.Handler that writes
// the error as a PS3.18 status with a readable message.
func (s *Service) wrap(fn func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		if err := fn(tw, r); err != nil {
			if tw.wrote {
				// Too late for a status: the body is under way. Abort the
				// connection so the client sees a truncated response.
				s.log.Warn("request failed after the response began", "method", r.Method, "path", r.URL.Path, "err", err)
				panic(http.ErrAbortHandler)
			}
			s.writeError(tw, r, err)
		}
	})
}

// trackingWriter records whether a response has begun.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(p)
}

func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// ReadFrom lets io.Copy reach the connection's ReaderFrom (sendfile for
// blobs in files).
func (t *trackingWriter) ReadFrom(r io.Reader) (int64, error) {
	t.wrote = true
	if rf, ok := t.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{t.ResponseWriter}, r)
}

func (t *trackingWriter) Flush() {
	t.wrote = true
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// baseURL returns the external URL of the prefix for r.
func (s *Service) baseURL(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if s.opts.TrustForwarded {
		if p := firstValue(r.Header.Get("X-Forwarded-Proto")); p == "http" || p == "https" {
			scheme = p
		}
		if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" && !strings.ContainsAny(h, "/\\\"<> ") {
			host = h
		}
	}
	return scheme + "://" + host + s.prefix
}

// firstValue returns the first of comma-separated header values, trimmed.
func firstValue(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.TrimSpace(v)
}

// authorize asks the Authorizer and maps a denial to 401/403.
func (s *Service) authorize(r *http.Request, a Action, res Resource) error {
	if err := s.auth.Authorize(r, a, res); err != nil {
		return authError(err)
	}
	return nil
}

// ctxOf is the request context; a helper so handlers read alike.
func ctxOf(r *http.Request) context.Context { return r.Context() }
