package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/dimsesvc"
)

// dimseListeners builds the DIMSE listener and, when configured, the
// DIMSE-over-TLS one: one dimse.Server with the archive's services serves
// both. C-MOVE destinations and known callers come from the remote AE
// directory, read at each use so that changes over the API apply at once.
func (s *Server) dimseListeners() ([]Listener, error) {
	d := s.cfg.DICOM
	if d.Addr == "" && d.TLSAddr == "" {
		return nil, nil
	}
	log := s.log.With("component", "dimse")
	clientTLS, err := s.dimseClientTLS()
	if err != nil {
		return nil, err
	}
	svc := dimsesvc.New(s.storage.Archive, dimsesvc.Options{
		AETitle: s.cfg.AETitle,
		Logger:  s.log,
		KnownAE: func(ctx context.Context, ae string) bool {
			_, ok := s.lookupRemoteAE(ctx, ae)
			return ok
		},
		Resolver:             remoteAEResolver{s: s, tls: clientTLS},
		AllowUnknownStore:    d.AllowUnknownStore,
		AllowUnknownQuery:    d.AllowUnknownQuery,
		AllowUnknownRetrieve: d.AllowUnknownRetrieve,
	})
	srv := &dimse.Server{
		AETitle:         s.cfg.AETitle,
		MaxAssociations: d.MaxAssociations,
		IdleTimeout:     time.Duration(d.IdleTimeoutSeconds) * time.Second,
		Logger:          s.log,
	}
	svc.Install(srv)
	var ls []Listener
	if d.Addr != "" {
		ls = append(ls, Listener{Name: "dicom", Addr: d.Addr, Serve: srv.Serve, Shutdown: srv.Shutdown, Closed: dimse.ErrServerClosed})
	}
	if d.TLSAddr != "" {
		cert, err := tls.LoadX509KeyPair(d.TLS.CertFile, d.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("server: DIMSE TLS certificate: %w", err)
		}
		tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		if d.TLS.CAFile != "" {
			pool, err := loadCAs(d.TLS.CAFile)
			if err != nil {
				return nil, err
			}
			tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
		}
		srv.TLSConfig = tc
		ls = append(ls, Listener{Name: "dicom-tls", Addr: d.TLSAddr, Serve: srv.ServeTLS, Shutdown: srv.Shutdown, Closed: dimse.ErrServerClosed})
	}
	log.Debug("DIMSE services configured", "ae", s.cfg.AETitle, "tls", d.TLSAddr != "")
	return ls, nil
}

// dimseClientTLS is the TLS configuration of associations to remote AEs
// marked TLS: this node's certificate as client certificate, and the
// configured CA (else the system's) to verify the peer.
func (s *Server) dimseClientTLS() (*tls.Config, error) {
	t := s.cfg.DICOM.TLS
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.Enabled() {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("server: DIMSE TLS certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if t.CAFile != "" {
		pool, err := loadCAs(t.CAFile)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

func loadCAs(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("server: DIMSE TLS CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("server: DIMSE TLS CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// remoteAEResolver finds C-MOVE destinations in the remote AE directory.
type remoteAEResolver struct {
	s   *Server
	tls *tls.Config
}

// ResolveAE implements dimse.AEResolver.
func (r remoteAEResolver) ResolveAE(ctx context.Context, aeTitle string) (dimse.RemoteAE, error) {
	ae, ok := r.s.lookupRemoteAE(ctx, aeTitle)
	if !ok {
		return dimse.RemoteAE{}, dimse.ErrUnknownAE
	}
	out := dimse.RemoteAE{AETitle: ae.AETitle, Addr: net.JoinHostPort(ae.Host, strconv.Itoa(ae.Port))}
	if ae.TLS {
		tc := r.tls.Clone()
		tc.ServerName = ae.Host
		out.TLSConfig = tc
	}
	return out, nil
}
