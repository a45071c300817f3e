// Package server wires a Lightbox node together: it opens the storage stack
// (blob store, index, archive), starts every listener (DIMSE, DIMSE over TLS,
// HTTP) in one group, and stops them in a documented order.
//
// Shutdown order: stop accepting (all listeners at once), let running
// associations and requests finish up to the deadline, then flush the
// archive's group commit, then close the index and the blob store. Nothing
// acknowledged is lost on a graceful stop, and nothing is acknowledged that
// was not durable, so a kill -9 loses nothing acknowledged either.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/api"
	"github.com/lightbox-pacs/lightbox/internal/config"
	"github.com/lightbox-pacs/lightbox/internal/dicomweb"
)

// Listener is one network service in the group: it follows the net/http
// server contract (Serve blocks until Shutdown or failure).
type Listener struct {
	Name     string
	Addr     string
	Serve    func(ln net.Listener) error
	Shutdown func(ctx context.Context) error
	// Closed is the error Serve returns after Shutdown (e.g. http.ErrServerClosed).
	Closed error
}

// Server is a running Lightbox node.
type Server struct {
	cfg       config.Config
	log       *slog.Logger
	storage   *Storage
	listeners []Listener
	bound     []net.Listener
	remoteAEs *api.FileAEStore
	// ShutdownTimeout bounds the drain of running work on stop.
	ShutdownTimeout time.Duration
}

// New opens storage and prepares the listeners; nothing listens until Run.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := OpenStorage(ctx, &cfg, log)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, storage: st, ShutdownTimeout: 30 * time.Second}
	ls, err := s.buildListeners()
	if err != nil {
		st.Close()
		return nil, err
	}
	s.listeners = ls
	return s, nil
}

// Storage returns the opened storage stack.
func (s *Server) Storage() *Storage { return s.storage }

// Bind opens every listener's socket, so callers (and tests using port 0)
// learn the real addresses before Run.
func (s *Server) Bind() error {
	for _, l := range s.listeners {
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			for _, b := range s.bound {
				b.Close()
			}
			s.bound = nil
			return fmt.Errorf("server: %s listen on %s: %w", l.Name, l.Addr, err)
		}
		s.bound = append(s.bound, ln)
	}
	return nil
}

// Addrs returns the bound address of each listener by name.
func (s *Server) Addrs() map[string]string {
	m := map[string]string{}
	for i, ln := range s.bound {
		m[s.listeners[i].Name] = ln.Addr().String()
	}
	return m
}

// Run serves until ctx is cancelled or a listener fails, then shuts down in
// order. It returns nil after a requested stop.
func (s *Server) Run(ctx context.Context) error {
	if s.bound == nil {
		if err := s.Bind(); err != nil {
			s.storage.Close()
			return err
		}
	}
	errc := make(chan error, len(s.listeners))
	var wg sync.WaitGroup
	for i, l := range s.listeners {
		wg.Add(1)
		go func(l Listener, ln net.Listener) {
			defer wg.Done()
			s.log.Info("listening", "service", l.Name, "addr", ln.Addr().String())
			if err := l.Serve(ln); err != nil && !errors.Is(err, l.Closed) {
				errc <- fmt.Errorf("server: %s: %w", l.Name, err)
			}
		}(l, s.bound[i])
	}
	var runErr error
	select {
	case <-ctx.Done():
		s.log.Info("stopping", "reason", context.Cause(ctx))
	case runErr = <-errc:
		s.log.Error("listener failed, stopping", "err", runErr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	var serr []error
	var swg sync.WaitGroup
	var mu sync.Mutex
	for _, l := range s.listeners {
		swg.Add(1)
		go func(l Listener) {
			defer swg.Done()
			if err := l.Shutdown(sctx); err != nil {
				mu.Lock()
				serr = append(serr, fmt.Errorf("server: %s shutdown: %w", l.Name, err))
				mu.Unlock()
			}
		}(l)
	}
	swg.Wait()
	wg.Wait()
	if err := s.storage.Close(); err != nil {
		serr = append(serr, err)
	}
	s.log.Info("stopped")
	return errors.Join(append([]error{runErr}, serr...)...)
}

// httpListener wraps an http.Server as a group member.
func httpListener(name, addr string, h http.Handler, log *slog.Logger) Listener {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		Protocols:         dicomweb.Protocols(), // HTTP/1.1 and h2c
	}
	return Listener{Name: name, Addr: addr, Serve: srv.Serve, Shutdown: srv.Shutdown, Closed: http.ErrServerClosed}
}
