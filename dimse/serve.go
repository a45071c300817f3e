package dimse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/ul"
)

// This file runs one association on the server side. A reader goroutine
// reads messages and hands them to the association's main loop; C-ECHO and
// C-STORE are served in the main loop (a C-STORE's data set streams from
// the reader to the handler), C-FIND, C-MOVE and C-GET run in an operation
// goroutine so that the main loop can still see C-CANCEL, and the C-STORE
// responses of C-GET sub-operations.

// assocHandler serves one established association.
type assocHandler struct {
	s      *Server
	a      *ul.Association
	info   *AssociationInfo
	log    *slog.Logger
	ctx    context.Context // ends with the association
	cancel context.CancelFunc
	inbox  chan *inMsg
	busy   atomic.Bool               // an operation is outstanding: idle timeouts do not apply
	cur    atomic.Pointer[operation] // the outstanding operation, if any
	subID  uint16                    // message IDs of C-GET sub-operations (operation goroutine only)
}

// inMsg is one message handed from the reader to the main loop.
type inMsg struct {
	message
	pc   ul.PresentationContext
	done chan struct{} // closed when the main loop is done with data
	err  error
}

// finish tells the reader the message's data set is no longer needed.
func (m *inMsg) finish() {
	if m.done != nil {
		close(m.done)
		m.done = nil
	}
}

// operation is a C-FIND, C-MOVE or C-GET in progress.
type operation struct {
	msgID    uint16
	ctx      context.Context // cancelled by C-CANCEL
	cancel   context.CancelFunc
	done     chan struct{}
	storeRsp chan *Command // C-STORE-RSPs for C-GET sub-operations
	req      *inMsg        // the request
	// final is set just before the final response is written: a request
	// arriving after it is the peer's next one, not one sent while the
	// operation was outstanding.
	final atomic.Bool
}

func newAssocHandler(s *Server, a *ul.Association) *assocHandler {
	ctx, cancel := context.WithCancel(context.Background())
	return &assocHandler{
		s:      s,
		a:      a,
		info:   newAssociationInfo(a),
		log:    s.log.With("remote", a.RemoteAddr().String(), "calling", a.CallingAE(), "called", a.CalledAE()),
		ctx:    ctx,
		cancel: cancel,
		inbox:  make(chan *inMsg),
	}
}

func (h *assocHandler) serve() {
	start := time.Now()
	h.log.Info("association accepted", "contexts", len(h.a.Contexts()), "tls", h.info.TLS)
	go h.readLoop()
	var op *operation
	var endErr error
	defer func() {
		h.cancel()
		if op != nil {
			<-op.done
		}
		h.a.Abort() // no-op once released
		for m := range h.inbox {
			m.finish()
		}
		h.log.Info("association ended", "duration", time.Since(start).Round(time.Millisecond), "how", endDescription(endErr))
	}()
	for {
		var opDone chan struct{}
		if op != nil {
			opDone = op.done
		}
		select {
		case m, ok := <-h.inbox:
			if !ok {
				return
			}
			if m.err != nil {
				endErr = m.err
				return
			}
			if op != nil {
				if h.routeDuringOp(op, m) {
					continue
				}
				if op.final.Load() {
					// The final response is written; the operation
					// goroutine is only returning.
					h.log.Debug("next request right after a final response", "message", m.cmd.String())
				} else {
					h.log.Warn("request while an operation is outstanding (window 1/1): finishing it first", "message", m.cmd.String())
				}
				<-op.done
				op = nil
			}
			op = h.dispatch(m)
			h.cur.Store(op)
			h.busy.Store(op != nil)
		case <-opDone:
			op = nil
			h.cur.Store(nil)
			h.busy.Store(false)
		}
	}
}

func endDescription(err error) string {
	switch {
	case err == nil, errors.Is(err, ul.ErrReleased):
		return "released"
	case errors.Is(err, ul.ErrIdleTimeout):
		return "idle timeout"
	}
	return err.Error()
}

// readLoop reads messages and hands them to the main loop, waiting for a
// message's data set to be consumed before reading on.
func (h *assocHandler) readLoop() {
	defer close(h.inbox)
	for {
		id, raw, err := h.a.ReadCommand(context.Background(), h.s.IdleTimeout)
		if errors.Is(err, ul.ErrIdleTimeout) && h.busy.Load() {
			continue
		}
		if err != nil {
			h.inbox <- &inMsg{err: err}
			return
		}
		cmd, err := DecodeCommand(raw)
		if err != nil {
			h.log.Warn("undecodable command set; aborting", "err", err)
			h.a.Abort()
			h.inbox <- &inMsg{err: err}
			return
		}
		m := &inMsg{message: message{pcID: id, cmd: cmd}}
		m.pc, _ = h.a.Context(id)
		var done chan struct{}
		if cmd.HasDataSet {
			m.data = h.a.Data()
			done = make(chan struct{})
			m.done = done
		}
		h.inbox <- m
		if done != nil {
			<-done
		}
	}
}

// routeDuringOp delivers what belongs to the outstanding operation.
func (h *assocHandler) routeDuringOp(op *operation, m *inMsg) bool {
	switch m.cmd.Field {
	case CCancelRQ:
		if m.cmd.MessageIDBeingRespondedTo == op.msgID {
			h.log.Info("C-CANCEL received", "message_id", op.msgID)
			op.cancel()
		}
	case CStoreRSP:
		select {
		case op.storeRsp <- m.cmd:
		default:
			h.log.Warn("unexpected C-STORE-RSP ignored", "message", m.cmd.String())
		}
	default:
		return false
	}
	m.finish()
	return true
}

// dispatch serves a message; for C-FIND, C-MOVE and C-GET it starts the
// operation and returns it.
func (h *assocHandler) dispatch(m *inMsg) *operation {
	defer m.finish()
	switch m.cmd.Field {
	case CEchoRQ:
		h.echo(m)
	case CStoreRQ:
		h.store(m)
	case CFindRQ, CMoveRQ, CGetRQ:
		return h.startOperation(m)
	case CCancelRQ:
		// Nothing outstanding to cancel.
	default:
		if m.cmd.Field.IsResponse() {
			h.log.Warn("unexpected response ignored", "message", m.cmd.String())
			return nil
		}
		h.log.Warn("unsupported request", "message", m.cmd.String())
		h.respond(m, &Command{Field: m.cmd.Field.Response(), Status: StatusUnrecognizedOperation,
			ErrorComment: fmt.Sprintf("%s is not supported", m.cmd.Field)}, nil)
	}
	return nil
}

// respond sends a response to m, with an optional data set in the
// context's transfer syntax.
func (h *assocHandler) respond(m *inMsg, rsp *Command, data *dicom.Dataset) error {
	rsp.MessageIDBeingRespondedTo = m.cmd.MessageID
	if rsp.AffectedSOPClassUID == "" {
		rsp.AffectedSOPClassUID = m.cmd.AffectedSOPClassUID
	}
	rsp.HasDataSet = data != nil
	if !rsp.Status.IsPending() {
		if op := h.cur.Load(); op != nil && op.req == m {
			op.final.Store(true)
		}
	}
	raw, err := rsp.Encode()
	if err != nil {
		h.log.Error("cannot encode response", "err", err)
		return err
	}
	var fn func(io.Writer) error
	if data != nil {
		fn = writeIdentifier(data, m.pc.TransferSyntax)
	}
	if err := h.a.WriteMessage(m.pcID, raw, fn); err != nil {
		h.log.Debug("response not sent", "message", rsp.String(), "err", err)
		return err
	}
	return nil
}

// wrongContext answers a request sent on a context of another service.
func (h *assocHandler) wrongContext(m *inMsg, want Service) bool {
	if got := ServiceOf(m.pc.AbstractSyntax); got != want {
		h.respond(m, &Command{Field: m.cmd.Field.Response(), Status: StatusSOPClassNotSupported,
			ErrorComment: fmt.Sprintf("%s on a %s presentation context", m.cmd.Field, got)}, nil)
		return true
	}
	return false
}

// recovered turns a handler panic into an error, logged with its stack.
func (h *assocHandler) recovered(what string) error {
	if r := recover(); r != nil {
		h.log.Error("handler panicked", "handler", what, "panic", r, "stack", string(debug.Stack()))
		return fmt.Errorf("internal error in %s handler", what)
	}
	return nil
}

func (h *assocHandler) echo(m *inMsg) {
	if h.wrongContext(m, ServiceVerification) {
		return
	}
	st := StatusSuccess
	if h.s.Echo != nil {
		func() {
			defer func() {
				if err := h.recovered("echo"); err != nil {
					st = StatusProcessingFailure
				}
			}()
			st = h.s.Echo.Echo(h.ctx, h.info)
		}()
	}
	h.respond(m, &Command{Field: CEchoRSP, Status: st}, nil)
}

func (h *assocHandler) store(m *inMsg) {
	data := m.data
	if data == nil {
		data = eofReader{}
	}
	if h.s.Store == nil || ServiceOf(m.pc.AbstractSyntax) != ServiceStorage {
		io.Copy(io.Discard, data)
		h.wrongContext(m, ServiceStorage)
		return
	}
	req := &StoreRequest{
		Association:             h.info,
		SourceAE:                h.info.CallingAE,
		MessageID:               m.cmd.MessageID,
		Priority:                m.cmd.Priority,
		SOPClassUID:             m.cmd.AffectedSOPClassUID,
		SOPInstanceUID:          m.cmd.AffectedSOPInstanceUID,
		TransferSyntax:          m.pc.TransferSyntax,
		MoveOriginatorAE:        m.cmd.MoveOriginatorAET,
		MoveOriginatorMessageID: m.cmd.MoveOriginatorMessageID,
	}
	start := time.Now()
	cr := &countingReader{r: data}
	var res Result
	func() {
		defer func() {
			if err := h.recovered("store"); err != nil {
				res = Result{Status: StatusOutOfResources, ErrorComment: err.Error()}
			}
		}()
		res = h.s.Store.Store(h.ctx, req, cr)
	}()
	if _, err := io.Copy(io.Discard, cr); err != nil {
		h.log.Warn("C-STORE data set not received", "sop_instance", req.SOPInstanceUID, "err", err)
		return
	}
	m.finish()
	h.log.Debug("C-STORE", "sop_class", req.SOPClassUID, "sop_instance", req.SOPInstanceUID, "ts", req.TransferSyntax,
		"bytes", cr.n, "status", res.Status, "comment", res.ErrorComment, "duration", time.Since(start))
	if !res.Status.IsSuccess() {
		h.log.Info("C-STORE not successful", "sop_instance", req.SOPInstanceUID, "status", res.Status, "comment", res.ErrorComment)
	}
	h.respond(m, &Command{Field: CStoreRSP, AffectedSOPInstanceUID: req.SOPInstanceUID, Status: res.Status,
		ErrorComment: res.ErrorComment, OffendingElements: res.OffendingElements}, nil)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// startOperation reads the identifier of a C-FIND, C-MOVE or C-GET and
// starts the operation.
func (h *assocHandler) startOperation(m *inMsg) *operation {
	want := map[CommandField]Service{CFindRQ: ServiceFind, CMoveRQ: ServiceMove, CGetRQ: ServiceGet}[m.cmd.Field]
	if h.wrongContext(m, want) {
		return nil
	}
	if m.data == nil {
		h.respond(m, &Command{Field: m.cmd.Field.Response(), Status: StatusIdentifierDoesNotMatchSOPClass, ErrorComment: "request carries no identifier"}, nil)
		return nil
	}
	ident, err := readIdentifier(m.data, m.pc.TransferSyntax)
	if err == nil {
		_, err = io.Copy(io.Discard, m.data)
	}
	m.finish()
	if err != nil {
		if h.a.Err() == nil {
			h.respond(m, &Command{Field: m.cmd.Field.Response(), Status: StatusUnableToProcess,
				ErrorComment: "identifier: " + err.Error()}, nil)
		}
		return nil
	}
	ctx, cancel := context.WithCancel(h.ctx)
	op := &operation{msgID: m.cmd.MessageID, ctx: ctx, cancel: cancel, done: make(chan struct{}), storeRsp: make(chan *Command, 1), req: m}
	h.cur.Store(op) // before it can respond
	go func() {
		defer close(op.done)
		defer cancel()
		defer func() {
			if err := h.recovered(m.cmd.Field.String()); err != nil {
				h.respond(m, &Command{Field: m.cmd.Field.Response(), Status: StatusUnableToProcess, ErrorComment: err.Error()}, nil)
			}
		}()
		switch m.cmd.Field {
		case CFindRQ:
			h.runFind(op, m, ident)
		case CMoveRQ:
			h.runMove(op, m, ident)
		case CGetRQ:
			h.runGet(op, m, ident)
		}
	}()
	return op
}

func (h *assocHandler) runFind(op *operation, m *inMsg, ident *dicom.Dataset) {
	req := &QueryRequest{Association: h.info, MessageID: m.cmd.MessageID, Priority: m.cmd.Priority,
		SOPClassUID: m.cmd.AffectedSOPClassUID, Identifier: ident}
	final, comment := StatusSuccess, ""
	n := 0
	start := time.Now()
	for ds, err := range h.s.Find.Find(op.ctx, req) {
		if err != nil {
			final, comment = statusOf(err, StatusUnableToProcess)
			break
		}
		if op.ctx.Err() != nil {
			break
		}
		if ds == nil {
			continue
		}
		if err := h.respond(m, &Command{Field: CFindRSP, Status: StatusPending}, ds); err != nil {
			return
		}
		n++
	}
	if final == StatusSuccess && op.ctx.Err() != nil {
		final = StatusCancel
	}
	h.log.Debug("C-FIND", "model", req.SOPClassUID, "matches", n, "status", final, "duration", time.Since(start))
	h.respond(m, &Command{Field: CFindRSP, Status: final, ErrorComment: comment}, nil)
}
