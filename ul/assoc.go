package ul

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// State is a state of the PS3.8 9.2 state machine.
type State int

// The states of PS3.8 Table 9-10.
const (
	Sta1  State = 1  // idle (no association, no transport)
	Sta2  State = 2  // transport open, awaiting A-ASSOCIATE-RQ
	Sta3  State = 3  // awaiting the local A-ASSOCIATE response
	Sta4  State = 4  // awaiting the transport connection to open
	Sta5  State = 5  // awaiting A-ASSOCIATE-AC or -RJ
	Sta6  State = 6  // association established, ready for data transfer
	Sta7  State = 7  // awaiting A-RELEASE-RP
	Sta8  State = 8  // awaiting the local A-RELEASE response
	Sta9  State = 9  // release collision, requestor: awaiting local response
	Sta10 State = 10 // release collision, acceptor: awaiting A-RELEASE-RP
	Sta11 State = 11 // release collision, requestor: awaiting A-RELEASE-RP
	Sta12 State = 12 // release collision, acceptor: awaiting local response
	Sta13 State = 13 // awaiting the transport to close
)

func (s State) String() string { return fmt.Sprintf("Sta%d", int(s)) }

// aLongTimeAgo is a deadline in the past, to interrupt a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// Association is one DICOM association over a net.Conn, on either side.
//
// Reads (ReadCommand, Data, Release) must come from one goroutine at a
// time. WriteMessage is safe for concurrent use: each message goes out
// whole. Abort and Close may be called from any goroutine at any time.
type Association struct {
	conn      net.Conn
	cfg       Config
	requestor bool
	rq        *AssociateRQ
	ac        *AssociateAC
	neg       *negotiation
	// sendData is the most data bytes one outgoing PDV carries.
	sendData int
	log      *slog.Logger

	// Read side.
	br        *bufio.Reader
	rd        deadlineReader
	in        inbound
	interrupt atomic.Bool

	// Write side: wsem is a semaphore so that Abort can give up waiting.
	wsem chan struct{}
	wbuf []byte

	mu       sync.Mutex
	state    State
	done     chan struct{}
	endErr   error
	closeOne sync.Once
}

// deadlineReader sets the read deadline before every read of the
// connection, so that a stall is bounded however the bytes trickle in.
type deadlineReader struct {
	a       *Association
	timeout time.Duration // >0: per read; 0: none; keepDeadline: leave the connection's
}

// keepDeadline makes deadlineReader leave the connection's deadline alone.
const keepDeadline time.Duration = -1

var errInterrupted = errors.New("ul: read interrupted")

func (d *deadlineReader) Read(p []byte) (int, error) {
	switch {
	case d.timeout > 0:
		d.a.conn.SetReadDeadline(time.Now().Add(d.timeout))
	case d.timeout == 0:
		d.a.conn.SetReadDeadline(time.Time{})
	}
	// Checked after setting the deadline: an interrupt that lands in
	// between has already pushed the deadline into the past.
	if d.a.interrupt.Load() {
		return 0, errInterrupted
	}
	return d.a.conn.Read(p)
}

func newAssociation(conn net.Conn, cfg Config, requestor bool) *Association {
	a := &Association{
		conn:      conn,
		cfg:       cfg,
		requestor: requestor,
		wsem:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	a.rd.a = a
	a.br = bufio.NewReaderSize(&a.rd, 64<<10)
	a.log = cfg.Logger.With("remote", conn.RemoteAddr().String())
	return a
}

// Accept runs the acceptor's side of association establishment on conn:
// it waits (up to the ARTIM timeout) for an A-ASSOCIATE-RQ, negotiates it
// under cfg and answers with A-ASSOCIATE-AC or -RJ. On rejection or
// failure the connection is closed and the error says why (a *RejectError
// with Local set for a rejection). A *tls.Conn is handshaken first.
func Accept(conn net.Conn, cfg AcceptConfig) (*Association, error) {
	cfg.Config = cfg.Config.withDefaults()
	a := newAssociation(conn, cfg.Config, false)
	a.state = Sta2
	deadline := time.Now().Add(cfg.ARTIMTimeout)
	conn.SetDeadline(deadline)
	if tc, ok := conn.(*tls.Conn); ok {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			a.closeConn(fmt.Errorf("ul: TLS handshake: %w", err))
			return nil, a.endErr
		}
	}
	a.rd.timeout = keepDeadline // the ARTIM deadline above bounds the whole request
	var hdr [pduHeaderLength]byte
	if _, err := io.ReadFull(a.br, hdr[:]); err != nil {
		a.closeConn(readErr("awaiting A-ASSOCIATE-RQ", err))
		return nil, a.endErr
	}
	t, n := PDUType(hdr[0]), binary.BigEndian.Uint32(hdr[2:])
	if t != TypeAssociateRQ {
		reason := AbortUnexpectedPDU
		if checkPDULength(t, n, cfg.MaxPDULength) != nil {
			reason = AbortUnrecognizedPDU
		}
		return nil, a.abortProvider(reason, fmt.Errorf("%w: %s while awaiting A-ASSOCIATE-RQ", ErrUnexpectedPDU, t))
	}
	if err := checkPDULength(t, n, cfg.MaxPDULength); err != nil {
		return nil, a.abortProvider(AbortInvalidPDUParameter, err)
	}
	body, err := readBody(a.br, n)
	if err != nil {
		a.closeConn(readErr("reading A-ASSOCIATE-RQ", err))
		return nil, a.endErr
	}
	p, err := DecodePDU(t, body)
	if err != nil {
		return nil, a.abortProvider(AbortInvalidPDUParameter, err)
	}
	rq := p.(*AssociateRQ)
	a.rq = rq
	a.state = Sta3
	ac, neg, rj := negotiate(rq, &cfg)
	if rj != nil {
		rj.Local = true
		a.log.Info("association rejected", "calling", rq.CallingAE, "called", rq.CalledAE, "reason", rj.Error())
		a.writeRaw(mustEncode(&AssociateRJ{Result: rj.Result, Source: rj.Source, Reason: rj.Reason}))
		a.state = Sta13
		a.lingerClose(rj)
		return nil, rj
	}
	b, err := EncodePDU(ac)
	if err != nil {
		return nil, a.abortProvider(AbortNotSpecified, err)
	}
	if err := a.writeRaw(b); err != nil {
		a.closeConn(err)
		return nil, a.endErr
	}
	a.ac, a.neg = ac, neg
	a.setSendLimit(rq.UserInfo.MaxPDULength)
	conn.SetDeadline(time.Time{})
	a.state = Sta6
	a.log = a.log.With("calling", rq.CallingAE, "called", rq.CalledAE)
	a.log.Debug("association accepted", "contexts", len(neg.contexts), "peer_max_pdu", rq.UserInfo.MaxPDULength,
		"peer_implementation", rq.UserInfo.ImplementationClassUID, "peer_version", rq.UserInfo.ImplementationVersionName)
	return a, nil
}

func mustEncode(p PDU) []byte {
	b, err := EncodePDU(p)
	if err != nil {
		panic(err)
	}
	return b
}

// Dial connects to addr (host:port), runs TLS when cfg.TLSConfig is set,
// and requests an association.
func Dial(ctx context.Context, addr string, cfg RequestConfig) (*Association, error) {
	c := cfg.Config.withDefaults()
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, c.ARTIMTimeout)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ul: dial %s: %w", addr, err)
	}
	if cfg.TLSConfig != nil {
		tc := cfg.TLSConfig.Clone()
		if tc.ServerName == "" && !tc.InsecureSkipVerify {
			if host, _, err := net.SplitHostPort(addr); err == nil {
				tc.ServerName = host
			}
		}
		tlsConn := tls.Client(conn, tc)
		if err := tlsConn.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("ul: TLS handshake with %s: %w", addr, err)
		}
		conn = tlsConn
	}
	a, err := Request(ctx, conn, cfg)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Request runs the requestor's side of association establishment on an
// open connection: it sends the A-ASSOCIATE-RQ built from cfg and waits
// (up to the ARTIM timeout, or ctx) for the answer. On failure the
// connection is closed; a rejection is a *RejectError.
func Request(ctx context.Context, conn net.Conn, cfg RequestConfig) (*Association, error) {
	cfg.Config = cfg.Config.withDefaults()
	a := newAssociation(conn, cfg.Config, true)
	a.state = Sta4
	rq, err := buildRQ(&cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	a.rq = rq
	b, err := EncodePDU(rq)
	if err != nil {
		conn.Close()
		return nil, err
	}
	deadline := time.Now().Add(cfg.ARTIMTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(aLongTimeAgo) })
	defer stop()
	a.state = Sta5
	if err := a.writeRaw(b); err != nil {
		a.closeConn(err)
		return nil, a.endErr
	}
	a.rd.timeout = keepDeadline // the connection deadline above bounds the wait
	p, err := a.readWholePDU()
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		a.closeConn(fmt.Errorf("ul: awaiting A-ASSOCIATE-AC: %w", err))
		return nil, a.endErr
	}
	switch p := p.(type) {
	case *AssociateAC:
		neg, err := applyAC(rq, p)
		if err != nil {
			return nil, a.abortProvider(AbortInvalidPDUParameter, err)
		}
		a.ac, a.neg = p, neg
		a.setSendLimit(p.UserInfo.MaxPDULength)
		if !stop() {
			return nil, a.abortLocal(AbortSourceUser, AbortNotSpecified, ctx.Err())
		}
		conn.SetDeadline(time.Time{})
		a.state = Sta6
		a.log = a.log.With("calling", rq.CallingAE, "called", rq.CalledAE)
		return a, nil
	case *AssociateRJ:
		rj := &RejectError{Result: p.Result, Source: p.Source, Reason: p.Reason}
		a.closeConn(rj)
		return nil, rj
	case *Abort:
		ab := &AbortError{Source: p.Source, Reason: p.Reason}
		a.closeConn(ab)
		return nil, ab
	default:
		return nil, a.abortProvider(AbortUnexpectedPDU, fmt.Errorf("%w: %s while awaiting A-ASSOCIATE-AC", ErrUnexpectedPDU, p.Type()))
	}
}

func buildRQ(cfg *RequestConfig) (*AssociateRQ, error) {
	if len(cfg.Contexts) == 0 {
		return nil, errors.New("ul: no presentation context to propose")
	}
	if len(cfg.Contexts) > 128 {
		return nil, fmt.Errorf("ul: %d presentation contexts proposed, at most 128 fit", len(cfg.Contexts))
	}
	rq := &AssociateRQ{
		ProtocolVersion:    ProtocolVersion,
		CalledAE:           cfg.CalledAE,
		CallingAE:          cfg.CallingAE,
		ApplicationContext: ApplicationContextName,
		UserInfo: UserInfo{
			MaxPDULength:               cfg.MaxPDULength,
			ImplementationClassUID:     cfg.ImplementationClassUID,
			ImplementationVersionName:  cfg.ImplementationVersionName,
			Roles:                      cfg.Roles,
			ExtendedNegotiations:       cfg.ExtendedNegotiations,
			CommonExtendedNegotiations: cfg.CommonExtendedNegotiations,
			UserIdentity:               cfg.UserIdentity,
		},
	}
	used := map[byte]bool{}
	for _, pc := range cfg.Contexts {
		if pc.ID != 0 {
			if pc.ID%2 == 0 || used[pc.ID] {
				return nil, fmt.Errorf("ul: presentation context ID %d is even or repeated", pc.ID)
			}
			used[pc.ID] = true
		}
	}
	next := byte(1)
	for _, pc := range cfg.Contexts {
		if pc.ID == 0 {
			for used[next] {
				next += 2
			}
			pc.ID = next
			used[next] = true
		}
		rq.Contexts = append(rq.Contexts, pc)
	}
	return rq, nil
}

// setSendLimit sizes outgoing PDVs from the peer's maximum PDU length.
func (a *Association) setSendLimit(peerMax uint32) {
	limit := a.cfg.MaxPDULength
	if peerMax != 0 && peerMax < limit {
		limit = peerMax
	}
	// A PDU holds one PDV: its 4-byte length, context ID and control header.
	// Fragments stay even: peers such as DCMTK refuse odd ones.
	a.sendData = (int(limit) - pdvHeaderLength) &^ 1
	a.wbuf = make([]byte, pduHeaderLength+pdvHeaderLength+a.sendData)
}

// readWholePDU reads one PDU of any type with the connection's current
// deadline (used while no P-DATA stream is open).
func (a *Association) readWholePDU() (PDU, error) {
	var hdr [pduHeaderLength]byte
	if _, err := io.ReadFull(a.br, hdr[:]); err != nil {
		return nil, unexpectedEOF(err)
	}
	t, n := PDUType(hdr[0]), binary.BigEndian.Uint32(hdr[2:])
	if err := checkPDULength(t, n, a.cfg.MaxPDULength); err != nil {
		return nil, err
	}
	body, err := readBody(a.br, n)
	if err != nil {
		return nil, err
	}
	return DecodePDU(t, body)
}

// Accessors.

// IsRequestor reports whether this side requested the association.
func (a *Association) IsRequestor() bool { return a.requestor }

// CallingAE returns the requestor's AE title.
func (a *Association) CallingAE() string { return a.rq.CallingAE }

// CalledAE returns the AE title the requestor called.
func (a *Association) CalledAE() string { return a.rq.CalledAE }

// Request returns the A-ASSOCIATE-RQ as sent or received.
func (a *Association) Request() *AssociateRQ { return a.rq }

// Response returns the A-ASSOCIATE-AC as sent or received.
func (a *Association) Response() *AssociateAC { return a.ac }

// Contexts returns every proposed presentation context with its outcome.
func (a *Association) Contexts() []PresentationContext {
	return append([]PresentationContext(nil), a.neg.contexts...)
}

// Context returns the accepted presentation context with the ID.
func (a *Association) Context(id byte) (PresentationContext, bool) {
	if pc := a.neg.byID[id]; pc != nil {
		return *pc, true
	}
	return PresentationContext{}, false
}

// PeerUserInfo returns the User Information the peer sent.
func (a *Association) PeerUserInfo() *UserInfo {
	if a.requestor {
		return &a.ac.UserInfo
	}
	return &a.rq.UserInfo
}

// UserIdentity returns the user identity the requestor asserted, or nil.
func (a *Association) UserIdentity() *UserIdentity { return a.rq.UserInfo.UserIdentity }

// LocalAddr returns the local network address.
func (a *Association) LocalAddr() net.Addr { return a.conn.LocalAddr() }

// RemoteAddr returns the peer's network address.
func (a *Association) RemoteAddr() net.Addr { return a.conn.RemoteAddr() }

// TLS returns the TLS connection state, and false when the association
// does not run over TLS.
func (a *Association) TLS() (tls.ConnectionState, bool) {
	if tc, ok := a.conn.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// State returns the current state of the PS3.8 state machine.
func (a *Association) State() State {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state
}

// Done is closed once the association has ended and its connection is
// (being) closed.
func (a *Association) Done() <-chan struct{} { return a.done }

// Err returns why the association ended, nil while it is established.
func (a *Association) Err() error {
	select {
	case <-a.done:
		return a.endErr
	default:
		return nil
	}
}

// Logger returns the association's logger, tagged with the peer.
func (a *Association) Logger() *slog.Logger { return a.log }

// Ending the association.

// Release releases the association in an orderly way (requestor only): it
// sends A-RELEASE-RQ and waits, up to the ARTIM timeout or ctx, for
// A-RELEASE-RP, discarding data still in flight. The connection is closed
// in every case.
func (a *Association) Release(ctx context.Context) error {
	a.mu.Lock()
	if a.state != Sta6 {
		st := a.state
		a.mu.Unlock()
		if err := a.Err(); err != nil {
			return err
		}
		return fmt.Errorf("%w: release in state %s", ErrClosed, st)
	}
	a.state = Sta7
	a.mu.Unlock()
	if err := a.writePDU(&ReleaseRQ{}); err != nil {
		a.closeConn(err)
		return err
	}
	deadline := time.Now().Add(a.cfg.ARTIMTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	a.conn.SetReadDeadline(deadline)
	a.rd.timeout = keepDeadline
	stop := context.AfterFunc(ctx, func() { a.conn.SetReadDeadline(aLongTimeAgo) })
	defer stop()
	if err := a.skipPData(); err != nil {
		a.closeConn(err)
		return err
	}
	for {
		p, err := a.readWholePDU()
		if err != nil {
			err = readErr("awaiting A-RELEASE-RP", err)
			a.closeConn(err)
			return err
		}
		switch p := p.(type) {
		case *PDataTF:
			// PS3.8 allows data to arrive until the peer answers.
		case *ReleaseRP:
			a.closeConn(ErrReleased)
			return nil
		case *ReleaseRQ:
			// Release collision: the requestor answers first (AR-8, AR-9).
			a.setState(Sta11)
			if err := a.writePDU(&ReleaseRP{}); err != nil {
				a.closeConn(err)
				return err
			}
		case *Abort:
			ab := &AbortError{Source: p.Source, Reason: p.Reason}
			a.closeConn(ab)
			return ab
		default:
			return a.abortProvider(AbortUnexpectedPDU, fmt.Errorf("%w: %s while awaiting A-RELEASE-RP", ErrUnexpectedPDU, p.Type()))
		}
	}
}

// skipPData discards the rest of a P-DATA-TF PDU being read, if any.
func (a *Association) skipPData() error {
	n := int64(a.in.pduLeft) + int64(a.in.pdvLeft)
	a.in.pduLeft, a.in.pdvLeft = 0, 0
	a.in.msgOpen = false
	if n == 0 {
		return nil
	}
	_, err := io.CopyN(io.Discard, a.br, n)
	return err
}

// Abort aborts the association (A-ABORT, service-user) and closes the
// connection at once. It does not wait for a writer blocked on the peer for
// longer than a second.
func (a *Association) Abort() error {
	a.abortLocal(AbortSourceUser, AbortNotSpecified, nil)
	return nil
}

// Close ends the association: an established one is aborted; Close after
// the end is a no-op.
func (a *Association) Close() error {
	return a.Abort()
}

// abortProvider sends a provider-initiated A-ABORT after a protocol error
// and returns the resulting *AbortError.
func (a *Association) abortProvider(reason AbortReason, cause error) error {
	a.log.Warn("aborting association", "reason", reason.describe(AbortSourceProvider), "err", cause)
	return a.abortLocal(AbortSourceProvider, reason, cause)
}

func (a *Association) abortLocal(src AbortSource, reason AbortReason, cause error) error {
	return a.abort(src, reason, cause, false)
}

// abortHeld is abortLocal for a caller that holds the write semaphore.
func (a *Association) abortHeld(src AbortSource, reason AbortReason, cause error) error {
	return a.abort(src, reason, cause, true)
}

func (a *Association) abort(src AbortSource, reason AbortReason, cause error, held bool) error {
	ab := &AbortError{Source: src, Reason: reason, Local: true, Cause: cause}
	a.mu.Lock()
	if a.state == Sta1 || a.state == Sta13 {
		a.mu.Unlock()
		if err := a.Err(); err != nil {
			return err
		}
		return ab
	}
	a.state = Sta13
	a.mu.Unlock()
	send := func() {
		a.conn.SetWriteDeadline(time.Now().Add(time.Second))
		a.conn.Write(mustEncode(&Abort{Source: src, Reason: reason}))
	}
	if held {
		send()
	} else {
		t := time.NewTimer(time.Second)
		select {
		case a.wsem <- struct{}{}:
			send()
			<-a.wsem
		case <-t.C:
		}
		t.Stop()
	}
	if src == AbortSourceUser {
		// The local user is done with the peer: close at once rather than
		// linger, so that Abort (and a server's forced shutdown) is prompt.
		a.closeConn(ab)
	} else {
		a.lingerClose(ab)
	}
	return ab
}

func (a *Association) setState(s State) {
	a.mu.Lock()
	a.state = s
	a.mu.Unlock()
}

// closeConn ends the association at once (Sta1) and records why.
func (a *Association) closeConn(why error) {
	a.closeOne.Do(func() {
		a.mu.Lock()
		a.state = Sta1
		a.mu.Unlock()
		a.endErr = why
		a.conn.Close()
		close(a.done)
	})
}

// lingerClose implements Sta13: the peer is expected to close the
// transport; this side half-closes, discards what still arrives for up to
// a second (or the ARTIM timeout if shorter), then closes, so that the
// last PDU is not lost to a TCP reset.
func (a *Association) lingerClose(why error) {
	a.closeOne.Do(func() {
		a.endErr = why
		close(a.done)
		if cw, ok := a.conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		wait := min(time.Second, a.cfg.ARTIMTimeout)
		go func() {
			a.conn.SetReadDeadline(time.Now().Add(wait))
			io.Copy(io.Discard, io.LimitReader(a.conn, 16<<20))
			a.conn.Close()
			a.setState(Sta1)
		}()
	})
}

// readErr turns a transport read error into the package's conditions.
func readErr(what string, err error) error {
	prefix := ""
	if what != "" {
		prefix = "ul: " + what + ": "
	}
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return fmt.Errorf("%s%w (%v)", prefix, ErrConnectionLost, err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%s%w", prefix, ErrTimeout)
	}
	return fmt.Errorf("%s%w", prefix, err)
}

// writeRaw writes b under the write timeout. Callers hold the write
// semaphore once the association is established.
func (a *Association) writeRaw(b []byte) error {
	a.conn.SetWriteDeadline(time.Now().Add(a.cfg.WriteTimeout))
	if _, err := a.conn.Write(b); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("ul: write: %w (peer not reading)", ErrTimeout)
		}
		return fmt.Errorf("ul: write: %w", err)
	}
	return nil
}

// writePDU writes a whole PDU under the write semaphore.
func (a *Association) writePDU(p PDU) error {
	a.wsem <- struct{}{}
	defer func() { <-a.wsem }()
	return a.writeRaw(mustEncode(p))
}
