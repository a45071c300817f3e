package server

import (
	"encoding/json"
	"net/http"

	"github.com/lightbox-pacs/lightbox/internal/dicomweb"
	"github.com/lightbox-pacs/lightbox/internal/version"
)

// buildListeners assembles the services the configuration enables.
func (s *Server) buildListeners() ([]Listener, error) {
	var ls []Listener
	if s.cfg.HTTP.Addr != "" {
		ls = append(ls, httpListener("http", s.cfg.HTTP.Addr, s.httpHandler(), s.log.With("component", "http")))
	}
	return ls, nil
}

// httpHandler routes the web port: DICOMweb, the REST API and the viewer.
func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	web := dicomweb.New(s.storage.Archive, dicomweb.Options{
		Logger: s.log.With("component", "dicomweb"),
		CORS:   dicomweb.CORSOptions{AllowedOrigins: s.cfg.HTTP.CORSOrigins},
	})
	mux.Handle(dicomweb.DefaultPrefix+"/", web)
	mux.Handle("/wado", web.WADOURIHandler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"status": "ok", "version": version.String(), "ae_title": s.cfg.AETitle})
	})
	return mux
}
