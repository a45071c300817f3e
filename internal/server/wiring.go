package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	_ "github.com/lightbox-pacs/lightbox/codec/all" // every pixel codec, for transcoding and rendering
	"github.com/lightbox-pacs/lightbox/internal/api"
	"github.com/lightbox-pacs/lightbox/internal/dicomweb"
	"github.com/lightbox-pacs/lightbox/internal/version"
	"github.com/lightbox-pacs/lightbox/internal/webui"
)

// buildListeners assembles the services the configuration enables.
func (s *Server) buildListeners() ([]Listener, error) {
	if err := s.openRemoteAEs(); err != nil {
		return nil, err
	}
	ls, err := s.dimseListeners()
	if err != nil {
		return nil, err
	}
	if s.cfg.HTTP.Addr != "" {
		ls = append(ls, httpListener("http", s.cfg.HTTP.Addr, s.httpHandler(), s.log.With("component", "http")))
	}
	return ls, nil
}

// httpHandler routes the web port: DICOMweb, the REST API and the viewer.
func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	web := dicomweb.New(s.storage.Archive, dicomweb.Options{
		Logger:     s.log.With("component", "dicomweb"),
		CORS:       dicomweb.CORSOptions{AllowedOrigins: s.cfg.HTTP.CORSOrigins},
		Transcoder: dicomweb.CodecTranscoder{},
	})
	mux.Handle(dicomweb.DefaultPrefix+"/", web)
	mux.Handle("/wado", web.WADOURIHandler())
	mux.Handle("/api/", api.New(s.storage.Archive, api.Options{
		Logger:       s.log.With("component", "api"),
		RemoteAEs:    s.remoteAEs,
		IndexBackend: s.cfg.Index.Backend,
		Storage:      api.DirStorage("fs", s.cfg.BlobDir()),
	}))
	mux.Handle("/", webui.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"status": "ok", "version": version.String(), "ae_title": s.cfg.AETitle})
	})
	return mux
}

// openRemoteAEs opens the remote AE directory kept in the data directory
// (editable over the REST API) and adds the configuration's entries that it
// does not hold yet, so a configuration file can seed it.
func (s *Server) openRemoteAEs() error {
	store, err := api.OpenFileAEStore(filepath.Join(s.cfg.DataDir, "remote-aes.json"))
	if err != nil {
		return fmt.Errorf("server: remote AEs: %w", err)
	}
	ctx := context.Background()
	for _, r := range s.cfg.RemoteAEs {
		ae := api.RemoteAE{Name: remoteAEName(r.AETitle), AETitle: r.AETitle, Host: r.Host, Port: r.Port, TLS: r.TLS, Description: r.Description}
		if err := store.Create(ctx, ae); err != nil && !errors.Is(err, api.ErrExists) {
			return fmt.Errorf("server: remote AE %s from the configuration: %w", r.AETitle, err)
		}
	}
	s.remoteAEs = store
	return nil
}

// lookupRemoteAE finds a known peer by AE title.
func (s *Server) lookupRemoteAE(ctx context.Context, aeTitle string) (api.RemoteAE, bool) {
	list, err := s.remoteAEs.List(ctx)
	if err != nil {
		s.log.Warn("remote AE directory unreadable", "err", err)
		return api.RemoteAE{}, false
	}
	for _, ae := range list {
		if ae.AETitle == strings.TrimSpace(aeTitle) {
			return ae, true
		}
	}
	return api.RemoteAE{}, false
}

// remoteAEName turns an AE title into a directory entry name: lower case,
// with characters a name may not hold (spaces, slashes, ...) replaced by '-'.
func remoteAEName(aeTitle string) string {
	name := strings.Map(func(c rune) rune {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			return c
		case c >= 'A' && c <= 'Z':
			return c + ('a' - 'A')
		}
		return '-'
	}, strings.TrimSpace(aeTitle))
	return strings.TrimLeft(name, ".")
}
