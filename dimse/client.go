package dimse

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/ul"
)

// Default AE titles.
const (
	DefaultAETitle  = "LIGHTBOX"
	DefaultCalledAE = "ANY-SCP"
)

// maxIdentifierLength bounds C-FIND/C-MOVE/C-GET identifiers and C-FIND
// results read into memory.
const maxIdentifierLength = 16 << 20

// cancelGrace bounds the wait for the final response after a C-CANCEL.
const cancelGrace = 10 * time.Second

// ClientConfig configures a Client's association.
type ClientConfig struct {
	// CallingAE is this side's AE title (default DefaultAETitle).
	CallingAE string
	// CalledAE is the peer's AE title (default DefaultCalledAE).
	CalledAE string
	// Contexts are the presentation contexts to propose; see
	// VerificationContexts, StorageContexts, QueryRetrieveContexts.
	Contexts             []ul.ContextRQ
	Roles                []ul.RoleSelection
	ExtendedNegotiations []ul.ExtendedNegotiation
	UserIdentity         *ul.UserIdentity
	// TLSConfig, when set, runs the association over TLS.
	TLSConfig *tls.Config
	// UL holds the upper layer settings (PDU size, timeouts, logger).
	UL ul.Config
	// ResponseTimeout bounds the wait for each response; 0 waits as long
	// as the operation's context allows.
	ResponseTimeout time.Duration
	// Logger receives client events (UL.Logger when nil).
	Logger *slog.Logger
}

// Client is the SCU side of one association. It runs one operation at a
// time: its methods must not be called concurrently.
type Client struct {
	a     *ul.Association
	cfg   ClientConfig
	info  *AssociationInfo
	msgID uint16
	log   *slog.Logger
}

// Dial connects to addr (host:port) and requests an association.
func Dial(ctx context.Context, addr string, cfg ClientConfig) (*Client, error) {
	if cfg.CallingAE == "" {
		cfg.CallingAE = DefaultAETitle
	}
	if cfg.CalledAE == "" {
		cfg.CalledAE = DefaultCalledAE
	}
	if cfg.Logger == nil {
		cfg.Logger = cfg.UL.Logger
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.UL.Logger == nil {
		cfg.UL.Logger = cfg.Logger
	}
	a, err := ul.Dial(ctx, addr, ul.RequestConfig{
		Config:               cfg.UL,
		CallingAE:            cfg.CallingAE,
		CalledAE:             cfg.CalledAE,
		Contexts:             cfg.Contexts,
		Roles:                cfg.Roles,
		ExtendedNegotiations: cfg.ExtendedNegotiations,
		UserIdentity:         cfg.UserIdentity,
		TLSConfig:            cfg.TLSConfig,
	})
	if err != nil {
		return nil, fmt.Errorf("dimse: associate with %s at %s: %w", cfg.CalledAE, addr, err)
	}
	return &Client{a: a, cfg: cfg, info: newAssociationInfo(a), log: a.Logger()}, nil
}

// Association returns the underlying association.
func (c *Client) Association() *ul.Association { return c.a }

// Release releases the association.
func (c *Client) Release(ctx context.Context) error { return c.a.Release(ctx) }

// Abort aborts the association.
func (c *Client) Abort() error { return c.a.Abort() }

// Close releases the association, waiting at most the ARTIM timeout.
func (c *Client) Close() error {
	if c.a.Err() != nil {
		return nil
	}
	return c.a.Release(context.Background())
}

func (c *Client) nextID() uint16 {
	c.msgID++
	if c.msgID == 0 {
		c.msgID = 1
	}
	return c.msgID
}

// contextFor returns an accepted presentation context for the abstract syntax.
func (c *Client) contextFor(abstract string) (ul.PresentationContext, error) {
	for _, pc := range c.a.Contexts() {
		if pc.Accepted() && pc.AbstractSyntax == abstract {
			return pc, nil
		}
	}
	return ul.PresentationContext{}, fmt.Errorf("%w: %s was not accepted by %s", ErrNoContext, abstract, c.a.CalledAE())
}

func (c *Client) send(pcID byte, cmd *Command, data func(io.Writer) error) error {
	raw, err := cmd.Encode()
	if err != nil {
		return err
	}
	if err := c.a.WriteMessage(pcID, raw, data); err != nil {
		return fmt.Errorf("dimse: send %s: %w", cmd.Field, err)
	}
	return nil
}

// message is a DIMSE message read from the association.
type message struct {
	pcID byte
	cmd  *Command
	data io.Reader // nil without a data set
}

// read reads the next message; ctx interrupts the wait for it.
func (c *Client) read(ctx context.Context, wait time.Duration) (message, error) {
	id, raw, err := c.a.ReadCommand(ctx, wait)
	if err != nil {
		if errors.Is(err, ul.ErrIdleTimeout) {
			c.a.Abort()
			return message{}, fmt.Errorf("dimse: no response within %s: %w", wait, err)
		}
		return message{}, err
	}
	cmd, err := DecodeCommand(raw)
	if err != nil {
		c.a.Abort()
		return message{}, err
	}
	m := message{pcID: id, cmd: cmd}
	if cmd.HasDataSet {
		m.data = c.a.Data()
	}
	return m, nil
}

// await reads until the response to msgID arrives. A context ending
// aborts the association: there is no cancelling C-ECHO or C-STORE.
func (c *Client) await(ctx context.Context, msgID uint16, field CommandField) (*Command, error) {
	for {
		m, err := c.read(ctx, c.cfg.ResponseTimeout)
		if err != nil {
			if ctx.Err() != nil {
				c.a.Abort()
			}
			return nil, err
		}
		if m.cmd.Field == field && m.cmd.MessageIDBeingRespondedTo == msgID {
			return m.cmd, nil
		}
		c.log.Warn("unexpected message ignored", "message", m.cmd.String())
	}
}

// Echo sends C-ECHO and returns nil on success, a *StatusError otherwise.
func (c *Client) Echo(ctx context.Context) error {
	pc, err := c.contextFor(VerificationSOPClass)
	if err != nil {
		return err
	}
	id := c.nextID()
	if err := c.send(pc.ID, &Command{Field: CEchoRQ, MessageID: id, AffectedSOPClassUID: VerificationSOPClass}, nil); err != nil {
		return err
	}
	rsp, err := c.await(ctx, id, CEchoRSP)
	if err != nil {
		return err
	}
	if rsp.Status != StatusSuccess {
		return &StatusError{Status: rsp.Status, Comment: rsp.ErrorComment}
	}
	return nil
}

// StoreResult is the outcome of one C-STORE.
type StoreResult struct {
	SOPClassUID    string
	SOPInstanceUID string
	// TransferSyntax is the syntax the data set was sent in.
	TransferSyntax string
	Status         Status
	ErrorComment   string
}

// moveOrigin marks a C-STORE as a C-MOVE sub-operation.
type moveOrigin struct {
	ae    string
	msgID uint16
}

// Store sends one instance read from r. A seekable r (an *os.File) can be
// a Part 10 file or a bare data set and is converted to another native
// transfer syntax when the peer did not accept its own; any other r must
// be a Part 10 file with a File Meta group length, sent as it is. A
// failure status is returned as a *StatusError along with the result.
func (c *Client) Store(ctx context.Context, r io.Reader) (StoreResult, error) {
	s, err := openSource(r)
	if err != nil {
		return StoreResult{}, err
	}
	return c.storeSource(ctx, s, nil)
}

// StoreFile sends the instance in the file at path.
func (c *Client) StoreFile(ctx context.Context, path string) (StoreResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return StoreResult{}, fmt.Errorf("dimse: %w", err)
	}
	defer f.Close()
	return c.Store(ctx, f)
}

// StoreInstance opens and sends a stored instance.
func (c *Client) StoreInstance(ctx context.Context, inst Instance) (StoreResult, error) {
	res := StoreResult{SOPClassUID: inst.SOPClassUID, SOPInstanceUID: inst.SOPInstanceUID}
	if inst.Open == nil {
		return res, errors.New("dimse: instance cannot be opened")
	}
	r, err := inst.Open(ctx)
	if err != nil {
		return res, err
	}
	defer r.Close()
	s, err := openSeekable(r)
	if err != nil {
		return res, err
	}
	return c.storeSource(ctx, s, nil)
}

func (c *Client) storeSource(ctx context.Context, s *source, orig *moveOrigin) (StoreResult, error) {
	res := StoreResult{SOPClassUID: s.SOPClassUID, SOPInstanceUID: s.SOPInstanceUID}
	pc, err := chooseContext(c.a, s, false)
	if err != nil {
		return res, err
	}
	res.TransferSyntax = pc.TransferSyntax
	id := c.nextID()
	cmd := &Command{Field: CStoreRQ, MessageID: id, AffectedSOPClassUID: s.SOPClassUID, AffectedSOPInstanceUID: s.SOPInstanceUID, HasDataSet: true}
	if orig != nil {
		cmd.MoveOriginatorAET, cmd.MoveOriginatorMessageID = orig.ae, orig.msgID
	}
	if err := c.send(pc.ID, cmd, func(w io.Writer) error { return s.writeData(w, pc.TransferSyntax) }); err != nil {
		return res, err
	}
	rsp, err := c.await(ctx, id, CStoreRSP)
	if err != nil {
		return res, err
	}
	res.Status, res.ErrorComment = rsp.Status, rsp.ErrorComment
	if rsp.Status.IsFailure() || rsp.Status.IsPending() || rsp.Status == StatusCancel {
		return res, &StatusError{Status: rsp.Status, Comment: rsp.ErrorComment}
	}
	return res, nil
}

// writeIdentifier encodes an identifier in the context's transfer syntax.
func writeIdentifier(ds *dicom.Dataset, ts string) func(io.Writer) error {
	return func(w io.Writer) error {
		return dicom.WriteDataset(w, ds, encodingOf(ts), dicom.WriteOptions{})
	}
}

func readIdentifier(r io.Reader, ts string) (*dicom.Dataset, error) {
	lr := &io.LimitedReader{R: r, N: maxIdentifierLength + 1}
	ds, err := dicom.ReadDataset(lr, -1, encodingOf(ts), dicom.ReadOptions{LoadBulk: true})
	if lr.N <= 0 {
		return nil, fmt.Errorf("dimse: identifier longer than %d bytes", maxIdentifierLength)
	}
	return ds, err
}

// Find sends a C-FIND with the identifier on the information model
// (PatientRootFind, StudyRootFind, ...) and yields each match as it
// arrives. Stopping the iteration, or ctx ending, sends C-CANCEL. A failure
// status ends the sequence with a *StatusError.
func (c *Client) Find(ctx context.Context, model string, identifier *dicom.Dataset) iter.Seq2[*dicom.Dataset, error] {
	return func(yield func(*dicom.Dataset, error) bool) {
		pc, err := c.contextFor(model)
		if err != nil {
			yield(nil, err)
			return
		}
		id := c.nextID()
		cmd := &Command{Field: CFindRQ, MessageID: id, AffectedSOPClassUID: model, HasDataSet: true}
		if err := c.send(pc.ID, cmd, writeIdentifier(identifier, pc.TransferSyntax)); err != nil {
			yield(nil, err)
			return
		}
		op := c.newOp(ctx, pc.ID, id)
		for {
			m, err := op.next()
			if err != nil {
				op.yieldErr(yield, err)
				return
			}
			if m.cmd.Field != CFindRSP || m.cmd.MessageIDBeingRespondedTo != id {
				c.log.Warn("unexpected message ignored", "message", m.cmd.String())
				continue
			}
			if m.cmd.Status.IsPending() {
				if m.data == nil || op.cancelled {
					continue
				}
				ds, err := readIdentifier(m.data, pc.TransferSyntax)
				if err != nil {
					op.yieldErr(yield, err)
					c.a.Abort()
					return
				}
				if !yield(ds, nil) {
					op.stopped = true
					op.cancel()
				}
				continue
			}
			if m.cmd.Status.IsFailure() {
				op.yieldErr(yield, &StatusError{Status: m.cmd.Status, Comment: m.cmd.ErrorComment})
			} else if m.cmd.Status == StatusCancel && !op.cancelled {
				op.yieldErr(yield, &StatusError{Status: m.cmd.Status, Comment: m.cmd.ErrorComment})
			} else if ctx.Err() != nil {
				op.yieldErr(yield, ctx.Err())
			}
			return
		}
	}
}

// op tracks a cancellable operation (C-FIND, C-MOVE, C-GET) on the client.
type op struct {
	c         *Client
	ctx       context.Context
	pcID      byte
	msgID     uint16
	cancelled bool // C-CANCEL sent
	stopped   bool // the consumer stopped iterating: yield no more
	deadline  time.Time
}

func (c *Client) newOp(ctx context.Context, pcID byte, msgID uint16) *op {
	return &op{c: c, ctx: ctx, pcID: pcID, msgID: msgID}
}

// cancel sends C-CANCEL once; the final response is then awaited for at
// most cancelGrace.
func (o *op) cancel() {
	if o.cancelled {
		return
	}
	o.cancelled = true
	o.deadline = time.Now().Add(cancelGrace)
	if err := o.c.send(o.pcID, &Command{Field: CCancelRQ, MessageIDBeingRespondedTo: o.msgID}, nil); err != nil {
		o.c.log.Warn("C-CANCEL not sent", "err", err)
	}
}

// next reads the next message, turning the end of ctx into a C-CANCEL.
func (o *op) next() (message, error) {
	for {
		if o.cancelled {
			wait := time.Until(o.deadline)
			if wait <= 0 {
				o.c.a.Abort()
				return message{}, fmt.Errorf("dimse: no final response within %s of C-CANCEL", cancelGrace)
			}
			m, err := o.c.read(context.Background(), wait)
			return m, err
		}
		m, err := o.c.read(o.ctx, o.c.cfg.ResponseTimeout)
		if err != nil && o.ctx.Err() != nil && o.c.a.Err() == nil {
			o.cancel()
			continue
		}
		return m, err
	}
}

func (o *op) yieldErr(yield func(*dicom.Dataset, error) bool, err error) {
	if !o.stopped {
		yield(nil, err)
	}
}

// RetrieveResult is the outcome of a C-MOVE or C-GET.
type RetrieveResult struct {
	Status       Status
	ErrorComment string
	// SubOps holds the final sub-operation counts.
	SubOps SubOperations
	// FailedSOPInstanceUIDs is the Failed SOP Instance UID List of the
	// final response.
	FailedSOPInstanceUIDs []string
}

// Move sends a C-MOVE asking the peer to send the instances matching the
// identifier to the destination AE. progress, when set, sees the counts of
// each pending response. The end of ctx sends C-CANCEL. A failure status is
// returned as a *StatusError along with the result.
func (c *Client) Move(ctx context.Context, model, destination string, identifier *dicom.Dataset, progress func(SubOperations)) (RetrieveResult, error) {
	return c.retrieve(ctx, CMoveRQ, model, destination, identifier, nil, progress)
}

// Get sends a C-GET: the peer sends the matching instances on this
// association as C-STORE sub-operations, which store handles (propose the
// storage contexts with the SCP role: see GetContexts). Otherwise as Move.
func (c *Client) Get(ctx context.Context, model string, identifier *dicom.Dataset, store StoreHandler, progress func(SubOperations)) (RetrieveResult, error) {
	return c.retrieve(ctx, CGetRQ, model, "", identifier, store, progress)
}

func (c *Client) retrieve(ctx context.Context, field CommandField, model, dest string, identifier *dicom.Dataset,
	store StoreHandler, progress func(SubOperations)) (RetrieveResult, error) {
	var res RetrieveResult
	pc, err := c.contextFor(model)
	if err != nil {
		return res, err
	}
	id := c.nextID()
	cmd := &Command{Field: field, MessageID: id, AffectedSOPClassUID: model, HasDataSet: true, MoveDestination: dest}
	if err := c.send(pc.ID, cmd, writeIdentifier(identifier, pc.TransferSyntax)); err != nil {
		return res, err
	}
	o := c.newOp(ctx, pc.ID, id)
	for {
		m, err := o.next()
		if err != nil {
			return res, err
		}
		switch {
		case m.cmd.Field == CStoreRQ && field == CGetRQ:
			if err := c.receiveStore(ctx, m, store); err != nil {
				return res, err
			}
			continue
		case m.cmd.Field != field.Response() || m.cmd.MessageIDBeingRespondedTo != id:
			c.log.Warn("unexpected message ignored", "message", m.cmd.String())
			continue
		}
		if m.cmd.SubOps != nil {
			res.SubOps = *m.cmd.SubOps
		}
		if m.cmd.Status.IsPending() {
			if progress != nil && m.cmd.SubOps != nil {
				progress(*m.cmd.SubOps)
			}
			continue
		}
		res.Status, res.ErrorComment = m.cmd.Status, m.cmd.ErrorComment
		if m.data != nil {
			if ds, err := readIdentifier(m.data, pc.TransferSyntax); err == nil {
				if e := ds.Get(tagFailedSOPInstanceUIDList); e != nil {
					res.FailedSOPInstanceUIDs = ds.Strings(e)
				}
			}
		}
		switch {
		case res.Status.IsFailure():
			return res, &StatusError{Status: res.Status, Comment: res.ErrorComment}
		case res.Status == StatusCancel && ctx.Err() != nil:
			return res, ctx.Err()
		}
		return res, nil
	}
}

// receiveStore handles a C-STORE sub-operation of a C-GET.
func (c *Client) receiveStore(ctx context.Context, m message, store StoreHandler) error {
	pc, _ := c.a.Context(m.pcID)
	req := &StoreRequest{
		Association:    c.info,
		SourceAE:       c.a.CalledAE(),
		MessageID:      m.cmd.MessageID,
		Priority:       m.cmd.Priority,
		SOPClassUID:    m.cmd.AffectedSOPClassUID,
		SOPInstanceUID: m.cmd.AffectedSOPInstanceUID,
		TransferSyntax: pc.TransferSyntax,
	}
	data := m.data
	if data == nil {
		data = eofReader{}
	}
	res := Result{Status: StatusSOPClassNotSupported, ErrorComment: "no store handler"}
	if store != nil {
		res = store.Store(ctx, req, data)
	}
	if _, err := io.Copy(io.Discard, data); err != nil {
		return err
	}
	rsp := &Command{Field: CStoreRSP, MessageIDBeingRespondedTo: m.cmd.MessageID, AffectedSOPClassUID: req.SOPClassUID,
		AffectedSOPInstanceUID: req.SOPInstanceUID, Status: res.Status, ErrorComment: res.ErrorComment, OffendingElements: res.OffendingElements}
	return c.send(m.pcID, rsp, nil)
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
