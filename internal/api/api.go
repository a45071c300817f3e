// Package api owns Lightbox's own REST API for the web UI and
// administrators, mounted under /api: browsing patients, studies, series
// and instances (JSON, not DICOM JSON), statistics, system information and
// the remote AE directory. The API is documented by the OpenAPI 3
// document embedded in this package and served at /api/openapi.json; a
// test keeps the document and the routes in step.
//
// Browsing goes through the archive's index with the same matching rules
// as C-FIND and QIDO-RS (index.Query); this package only maps query
// parameters to keys. Deletions go through the archive.
//
// The capture endpoints (capture.go) wrap an uploaded scan or PDF as a
// DICOM instance (package capture) and store it through the archive.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/version"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3 document of the API.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// StorageInfo describes where instances are stored.
type StorageInfo struct {
	// Backend names the blob store ("fs", "s3").
	Backend string `json:"backend"`
	// Location is the directory or bucket.
	Location string `json:"location,omitempty"`
	// TotalBytes and FreeBytes describe the volume, when known (0 otherwise).
	TotalBytes uint64 `json:"totalBytes,omitempty"`
	FreeBytes  uint64 `json:"freeBytes,omitempty"`
}

// Options configure the API. The zero value is usable (no remote AE store:
// those routes answer 501).
type Options struct {
	// Logger receives request errors; nil discards them.
	Logger *slog.Logger
	// Prefix is the mount path; "" means "/api".
	Prefix string
	// RemoteAEs keeps the remote AE directory; nil disables those routes.
	RemoteAEs RemoteAEStore
	// IndexBackend names the index backend ("sqlite", "postgres").
	IndexBackend string
	// Storage reports the blob store; nil reports nothing.
	Storage func(ctx context.Context) (StorageInfo, error)
	// Authorize, when set, is asked before every request; an error wrapping
	// ErrForbidden gives 403, any other error 401. nil allows everything
	// (until the security work).
	Authorize func(r *http.Request, write bool) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxLimit caps list sizes; 0 means 1000.
	MaxLimit int
	// MaxCaptureBytes caps an uploaded scan or PDF (capture.go); 0 means
	// 256 MiB.
	MaxCaptureBytes int64
}

// ErrForbidden, wrapped by an Authorize error, gives 403.
var ErrForbidden = errors.New("api: forbidden")

// Handler serves the API. It is safe for concurrent use.
type Handler struct {
	arch    *archive.Archive
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	started time.Time
}

var _ http.Handler = (*Handler)(nil)

// route is one endpoint; the table drives both the mux and the test that
// checks the OpenAPI document.
type route struct {
	method, path string
	write        bool
	fn           func(w http.ResponseWriter, r *http.Request) (any, int, error)
}

// New returns the API over arch, which the caller keeps owning.
func New(arch *archive.Archive, opts Options) *Handler {
	if opts.Prefix == "" {
		opts.Prefix = "/api"
	}
	opts.Prefix = "/" + strings.Trim(opts.Prefix, "/")
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxLimit <= 0 {
		opts.MaxLimit = 1000
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{arch: arch, opts: opts, log: log.With("component", "api"), started: opts.Now()}
	h.mux = http.NewServeMux()
	for _, rt := range h.routes() {
		h.mux.Handle(rt.method+" "+opts.Prefix+rt.path, h.wrap(rt))
	}
	h.mux.HandleFunc(opts.Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, &httpError{http.StatusNotFound, "no API resource at " + r.URL.Path})
	})
	return h
}

func (h *Handler) routes() []route {
	return []route{
		{"GET", "/openapi.json", false, h.openapi},
		{"GET", "/system", false, h.system},
		{"GET", "/statistics", false, h.statistics},
		{"GET", "/patients", false, h.listPatients},
		{"GET", "/patients/{patientID}/studies", false, h.patientStudies},
		{"DELETE", "/patients/{patientID}", true, h.deletePatient},
		{"GET", "/studies", false, h.listStudies},
		{"GET", "/studies/{study}", false, h.getStudy},
		{"DELETE", "/studies/{study}", true, h.deleteStudy},
		{"GET", "/studies/{study}/series", false, h.studySeries},
		{"POST", "/studies/{study}/captures", true, h.captureToStudy},
		{"POST", "/captures", true, h.captureNewStudy},
		{"GET", "/series/{series}", false, h.getSeries},
		{"DELETE", "/series/{series}", true, h.deleteSeries},
		{"GET", "/series/{series}/instances", false, h.seriesInstances},
		{"GET", "/instances/{instance}", false, h.getInstance},
		{"GET", "/instances/{instance}/file", false, h.instanceFile},
		{"DELETE", "/instances/{instance}", true, h.deleteInstance},
		{"GET", "/conflicts", false, h.conflicts},
		{"GET", "/remote-aes", false, h.listAEs},
		{"POST", "/remote-aes", true, h.createAE},
		{"GET", "/remote-aes/{name}", false, h.getAE},
		{"PUT", "/remote-aes/{name}", true, h.updateAE},
		{"DELETE", "/remote-aes/{name}", true, h.deleteAE},
	}
}

// ServeHTTP serves one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func (h *Handler) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.opts.Authorize != nil {
			if err := h.opts.Authorize(r, rt.write); err != nil {
				st := http.StatusUnauthorized
				if errors.Is(err, ErrForbidden) {
					st = http.StatusForbidden
				}
				h.writeError(w, r, &httpError{st, err.Error()})
				return
			}
		}
		v, status, err := rt.fn(w, r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if _, ok := v.(served); ok {
			return
		}
		if raw, ok := v.([]byte); ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write(raw)
			return
		}
		if v == nil {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			h.log.Warn("write response", "path", r.URL.Path, "err", err)
		}
	})
}

// writeError answers {"status": ..., "error": "..."}.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	st := http.StatusInternalServerError
	var he *httpError
	switch {
	case errors.As(err, &he):
		st = he.status
	case errors.Is(err, archive.ErrNotFound), errors.Is(err, index.ErrNotFound), errors.Is(err, ErrNotFound):
		st = http.StatusNotFound
	case errors.Is(err, ErrExists):
		st = http.StatusConflict
	case errors.Is(err, index.ErrInvalidQuery), errors.Is(err, index.ErrUnsupportedKey):
		st = http.StatusBadRequest
	case errors.Is(err, archive.ErrClosed), errors.Is(err, index.ErrClosed):
		st = http.StatusServiceUnavailable
	}
	if st >= 500 {
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(st)
	json.NewEncoder(w).Encode(map[string]any{"status": st, "error": err.Error()})
}

func (h *Handler) openapi(w http.ResponseWriter, r *http.Request) (any, int, error) {
	return openAPI, http.StatusOK, nil
}

// SystemInfo is the answer of GET /system.
type SystemInfo struct {
	Version       string       `json:"version"`
	GoVersion     string       `json:"goVersion"`
	StartedAt     time.Time    `json:"startedAt"`
	UptimeSeconds int64        `json:"uptimeSeconds"`
	IndexBackend  string       `json:"indexBackend"`
	Storage       *StorageInfo `json:"storage,omitempty"`
}

func (h *Handler) system(w http.ResponseWriter, r *http.Request) (any, int, error) {
	si := SystemInfo{
		Version:       version.String(),
		GoVersion:     runtime.Version(),
		StartedAt:     h.started.UTC(),
		UptimeSeconds: int64(h.opts.Now().Sub(h.started).Seconds()),
		IndexBackend:  h.opts.IndexBackend,
	}
	if h.opts.Storage != nil {
		st, err := h.opts.Storage(r.Context())
		if err != nil {
			return nil, 0, err
		}
		si.Storage = &st
	}
	return si, http.StatusOK, nil
}

// Statistics is the answer of GET /statistics.
type Statistics struct {
	Patients   int             `json:"patients"`
	Studies    int             `json:"studies"`
	Series     int             `json:"series"`
	Instances  int             `json:"instances"`
	Bytes      int64           `json:"bytes"`
	Modalities []ModalityStats `json:"modalities"`
}

// ModalityStats is the part of the archive with one modality.
type ModalityStats struct {
	Modality  string `json:"modality"`
	Series    int    `json:"series"`
	Instances int    `json:"instances"`
	Bytes     int64  `json:"bytes"`
}

func (h *Handler) statistics(w http.ResponseWriter, r *http.Request) (any, int, error) {
	st, err := h.arch.Index().Stats(r.Context())
	if err != nil {
		return nil, 0, err
	}
	out := Statistics{Patients: st.Patients, Studies: st.Studies, Series: st.Series, Instances: st.Instances, Bytes: st.Bytes,
		Modalities: []ModalityStats{}}
	for _, m := range st.Modalities {
		out.Modalities = append(out.Modalities, ModalityStats(m))
	}
	return out, http.StatusOK, nil
}

func (h *Handler) conflicts(w http.ResponseWriter, r *http.Request) (any, int, error) {
	cs, err := h.arch.Index().Conflicts(r.Context())
	if err != nil {
		return nil, 0, err
	}
	if cs == nil {
		cs = []index.Conflict{}
	}
	return cs, http.StatusOK, nil
}

func (h *Handler) aes() (RemoteAEStore, error) {
	if h.opts.RemoteAEs == nil {
		return nil, &httpError{http.StatusNotImplemented, "no remote AE directory is configured"}
	}
	return h.opts.RemoteAEs, nil
}

func (h *Handler) listAEs(w http.ResponseWriter, r *http.Request) (any, int, error) {
	s, err := h.aes()
	if err != nil {
		return nil, 0, err
	}
	l, err := s.List(r.Context())
	if l == nil {
		l = []RemoteAE{}
	}
	return l, http.StatusOK, err
}

func (h *Handler) getAE(w http.ResponseWriter, r *http.Request) (any, int, error) {
	s, err := h.aes()
	if err != nil {
		return nil, 0, err
	}
	ae, err := s.Get(r.Context(), r.PathValue("name"))
	return ae, http.StatusOK, err
}

func decodeAE(r *http.Request) (RemoteAE, error) {
	var ae RemoteAE
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ae); err != nil {
		return ae, badRequest("remote AE: %v", err)
	}
	if err := ae.Validate(); err != nil {
		return ae, badRequest("%v", err)
	}
	return ae, nil
}

func (h *Handler) createAE(w http.ResponseWriter, r *http.Request) (any, int, error) {
	s, err := h.aes()
	if err != nil {
		return nil, 0, err
	}
	ae, err := decodeAE(r)
	if err != nil {
		return nil, 0, err
	}
	if err := s.Create(r.Context(), ae); err != nil {
		return nil, 0, err
	}
	w.Header().Set("Location", h.opts.Prefix+"/remote-aes/"+ae.Name)
	return ae, http.StatusCreated, nil
}

func (h *Handler) updateAE(w http.ResponseWriter, r *http.Request) (any, int, error) {
	s, err := h.aes()
	if err != nil {
		return nil, 0, err
	}
	ae, err := decodeAE(r)
	if err != nil {
		return nil, 0, err
	}
	if ae.Name != r.PathValue("name") {
		return nil, 0, badRequest("the body names %q, the path %q", ae.Name, r.PathValue("name"))
	}
	return ae, http.StatusOK, s.Update(r.Context(), ae)
}

func (h *Handler) deleteAE(w http.ResponseWriter, r *http.Request) (any, int, error) {
	s, err := h.aes()
	if err != nil {
		return nil, 0, err
	}
	return nil, http.StatusNoContent, s.Delete(r.Context(), r.PathValue("name"))
}

// intParam reads a non-negative integer query parameter.
func intParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, badRequest("%s=%q is not a non-negative integer", name, v)
	}
	return n, nil
}
