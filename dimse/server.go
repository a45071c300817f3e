package dimse

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lightbox-pacs/lightbox/ul"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("dimse: server closed")

// Defaults for Server.
const (
	DefaultMaxAssociations = 64
	DefaultIdleTimeout     = 2 * time.Minute
)

// Server is a DIMSE service class provider. It follows the net/http
// server contract: configure the fields, then call Serve (or ServeTLS) with
// one or more listeners; Shutdown stops accepting and lets running
// associations finish; Close stops everything at once. Fields must not be
// changed once serving has begun.
//
// A presentation context is accepted when its service has a handler:
// Verification always; storage when Store is set, for every SOP class that
// is not a registered SOP class of another service (private and unknown
// ones included) and every syntax of TransferSyntaxes; the query/retrieve
// models when Find, Move or Get is set, in the uncompressed syntaxes.
type Server struct {
	// AETitle is this server's AE title (default DefaultAETitle); it is
	// the calling AE of C-MOVE sub-associations.
	AETitle string
	// RequireCalledAE rejects associations whose called AE title is not
	// AETitle (by default any called AE title is answered).
	RequireCalledAE bool
	// Authorize, when set, may reject an association request (unknown
	// calling AE, missing user identity...): return a *ul.RejectError to
	// choose the reason.
	Authorize func(rq *ul.AssociateRQ) error
	// ExtendedNegotiation answers SOP class extended negotiation items
	// (nil: items are not answered, meaning "not supported").
	ExtendedNegotiation func(sopClassUID string, info []byte) []byte

	Echo  EchoHandler
	Store StoreHandler
	Find  FindHandler
	Move  MoveHandler
	Get   GetHandler
	// AEResolver finds C-MOVE destinations; without it every destination
	// is unknown.
	AEResolver AEResolver

	// TransferSyntaxes are accepted for storage, the proposer's first
	// choice winning; nil means AllTransferSyntaxes().
	TransferSyntaxes []string
	// TLSConfig is used by ServeTLS.
	TLSConfig *tls.Config
	// MaxAssociations bounds concurrent associations (default
	// DefaultMaxAssociations); requests beyond it are rejected
	// (transient, local limit exceeded).
	MaxAssociations int
	// IdleTimeout bounds the wait for the next request on an idle
	// association (default DefaultIdleTimeout); the association is then
	// aborted.
	IdleTimeout time.Duration
	// UL holds the upper layer settings (PDU size, ARTIM, read and write
	// timeouts).
	UL ul.Config
	// Logger receives server events, tagged component=dimse.
	Logger *slog.Logger

	initOnce   sync.Once
	log        *slog.Logger
	storageTS  map[string]bool
	mu         sync.Mutex
	listeners  map[net.Listener]struct{}
	conns      map[*serverConn]struct{}
	active     atomic.Int64 // established (or being established) associations
	inShutdown atomic.Bool
	wg         sync.WaitGroup
}

// serverConn is one accepted connection.
type serverConn struct {
	conn net.Conn
	mu   sync.Mutex
	a    *ul.Association
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		if s.AETitle == "" {
			s.AETitle = DefaultAETitle
		}
		if s.MaxAssociations <= 0 {
			s.MaxAssociations = DefaultMaxAssociations
		}
		if s.IdleTimeout <= 0 {
			s.IdleTimeout = DefaultIdleTimeout
		}
		lg := s.Logger
		if lg == nil {
			lg = slog.New(slog.DiscardHandler)
		}
		s.log = lg.With("component", "dimse")
		if s.UL.Logger == nil {
			s.UL.Logger = s.log
		}
		ts := s.TransferSyntaxes
		if ts == nil {
			ts = AllTransferSyntaxes()
		}
		s.storageTS = map[string]bool{}
		for _, t := range ts {
			s.storageTS[t] = true
		}
		s.listeners = map[net.Listener]struct{}{}
		s.conns = map[*serverConn]struct{}{}
	})
}

// Serve accepts connections on ln and serves an association on each, until
// Shutdown or Close (then it returns ErrServerClosed) or an accept error.
func (s *Server) Serve(ln net.Listener) error {
	s.init()
	s.mu.Lock()
	if s.inShutdown.Load() {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	s.log.Info("listening", "addr", ln.Addr().String(), "ae", s.AETitle)
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.inShutdown.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("dimse: accept: %w", err)
		}
		delay = 0
		sc := &serverConn{conn: conn}
		s.mu.Lock()
		if s.inShutdown.Load() {
			s.mu.Unlock()
			conn.Close()
			return ErrServerClosed
		}
		// Connections still negotiating are bounded by the ARTIM timeout;
		// beyond a hard cap they are not even read.
		if len(s.conns) >= 2*s.MaxAssociations+16 {
			s.mu.Unlock()
			s.log.Warn("too many connections; closing", "remote", conn.RemoteAddr().String())
			conn.Close()
			continue
		}
		s.conns[sc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(sc)
	}
}

// ServeTLS is Serve over TLS with s.TLSConfig.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.TLSConfig == nil {
		return errors.New("dimse: ServeTLS without TLSConfig")
	}
	return s.Serve(tls.NewListener(ln, s.TLSConfig))
}

// ListenAndServe listens on the TCP address and serves it.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("dimse: %w", err)
	}
	return s.Serve(ln)
}

// Shutdown stops the listeners, refuses new associations, and waits for
// the running ones to be released by their peers. When ctx ends first, the
// remaining associations are aborted and ctx.Err() is returned. Shutdown
// may be called more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.inShutdown.Store(true)
	s.closeListeners()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.abortAll()
		<-done
		return ctx.Err()
	}
}

// Close stops the listeners and aborts every association at once.
func (s *Server) Close() error {
	s.init()
	s.inShutdown.Store(true)
	s.closeListeners()
	s.abortAll()
	s.wg.Wait()
	return nil
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ln := range s.listeners {
		ln.Close()
	}
}

func (s *Server) abortAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sc := range s.conns {
		sc.mu.Lock()
		if sc.a != nil {
			sc.a.Abort()
		} else {
			sc.conn.Close()
		}
		sc.mu.Unlock()
	}
}

// ActiveAssociations returns the number of associations being served.
func (s *Server) ActiveAssociations() int { return int(s.active.Load()) }

func (s *Server) serveConn(sc *serverConn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
		s.wg.Done()
	}()
	reserved := false
	cfg := ul.AcceptConfig{
		Config: s.UL,
		Check: func(rq *ul.AssociateRQ) error {
			if s.inShutdown.Load() {
				return ul.NewRejectError(ul.RejectTransient, ul.RejectSourcePresentation, ul.RejectTemporaryCongestion, "server shutting down")
			}
			if s.RequireCalledAE && rq.CalledAE != s.AETitle {
				return ul.NewRejectError(ul.RejectPermanent, ul.RejectSourceUser, ul.RejectCalledAENotRecognized,
					fmt.Sprintf("called AE %q is not %q", rq.CalledAE, s.AETitle))
			}
			if s.Authorize != nil {
				if err := s.Authorize(rq); err != nil {
					return err
				}
			}
			if s.active.Add(1) > int64(s.MaxAssociations) {
				s.active.Add(-1)
				return ul.NewRejectError(ul.RejectTransient, ul.RejectSourcePresentation, ul.RejectLocalLimitExceeded,
					fmt.Sprintf("%d associations already", s.MaxAssociations))
			}
			reserved = true
			return nil
		},
		Context:             s.contextPolicy,
		Role:                s.rolePolicy,
		ExtendedNegotiation: s.ExtendedNegotiation,
	}
	a, err := ul.Accept(sc.conn, cfg)
	if reserved {
		defer s.active.Add(-1)
	}
	if err != nil {
		s.log.Debug("association not established", "remote", sc.conn.RemoteAddr().String(), "err", err)
		return
	}
	sc.mu.Lock()
	sc.a = a
	sc.mu.Unlock()
	h := newAssocHandler(s, a)
	h.serve()
}

// contextPolicy decides one proposed presentation context.
func (s *Server) contextPolicy(abstract string, proposed []string) (string, ul.ContextResult) {
	var ok func(string) bool
	switch ServiceOf(abstract) {
	case ServiceVerification:
		ok = isNative
	case ServiceStorage:
		// Storage contexts also carry C-GET sub-operations (requestor as SCP).
		if s.Store == nil && s.Get == nil {
			return "", ul.ContextAbstractSyntaxNotSupported
		}
		ok = func(ts string) bool { return s.storageTS[ts] }
	case ServiceFind:
		if s.Find == nil {
			return "", ul.ContextAbstractSyntaxNotSupported
		}
		ok = isNative
	case ServiceMove:
		if s.Move == nil {
			return "", ul.ContextAbstractSyntaxNotSupported
		}
		ok = isNative
	case ServiceGet:
		if s.Get == nil {
			return "", ul.ContextAbstractSyntaxNotSupported
		}
		ok = isNative
	default:
		return "", ul.ContextAbstractSyntaxNotSupported
	}
	for _, ts := range proposed {
		if ok(ts) {
			return ts, ul.ContextAccepted
		}
	}
	return "", ul.ContextTransferSyntaxesNotSupported
}

// rolePolicy: the requestor may be SCP of storage (to receive C-GET
// sub-operations) when this server serves C-GET; it is SCU of everything.
func (s *Server) rolePolicy(sop string, scu, scp bool) (bool, bool) {
	return true, scp && s.Get != nil && ServiceOf(sop) == ServiceStorage
}
