package dimse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/ul"
)

// This file performs the C-STORE sub-operations of C-MOVE (on a new
// association to the destination) and C-GET (on the requestor's own
// association), with pending responses carrying the counts and a final
// response listing the failed instances.

// maxContextsPerAssociation is PS3.8's limit (odd IDs 1 to 255).
const maxContextsPerAssociation = 128

// subOpRun tracks the sub-operations of one retrieval.
type subOpRun struct {
	h      *assocHandler
	op     *operation
	m      *inMsg
	counts SubOperations
	failed []string
}

// record counts one sub-operation's outcome and sends a pending response.
func (r *subOpRun) record(inst Instance, st Status, err error) error {
	r.counts.Remaining--
	switch {
	case err != nil || st.IsFailure() || st == StatusCancel:
		r.counts.Failed++
		r.failed = append(r.failed, inst.SOPInstanceUID)
		r.h.log.Info("sub-operation failed", "sop_instance", inst.SOPInstanceUID, "status", st, "err", err)
	case st.IsWarning():
		r.counts.Warning++
	default:
		r.counts.Completed++
	}
	so := r.counts
	return r.h.respond(r.m, &Command{Field: r.m.cmd.Field.Response(), Status: StatusPending, SubOps: &so}, nil)
}

// finish sends the final response.
func (r *subOpRun) finish(comment string) {
	so := r.counts
	var st Status
	switch {
	case r.op.ctx.Err() != nil && r.counts.Remaining > 0:
		st = StatusCancel
	case r.counts.Failed == 0 && r.counts.Warning == 0:
		st = StatusSuccess
	case r.counts.Completed == 0 && r.counts.Warning == 0:
		st = StatusOutOfResourcesSubOps
	default:
		st = StatusSubOperationsCompleteWithFailures
	}
	var ds *dicom.Dataset
	if len(r.failed) > 0 {
		ds = dicom.NewDataset()
		ds.Set(dicom.NewStringElement(tagFailedSOPInstanceUIDList, dicom.UI, r.failed...))
	}
	if st == StatusSuccess {
		comment = ""
	}
	r.h.log.Info(r.m.cmd.Field.String()+" done", "status", st, "completed", so.Completed, "failed", so.Failed,
		"warning", so.Warning, "remaining", so.Remaining)
	r.h.respond(r.m, &Command{Field: r.m.cmd.Field.Response(), Status: st, SubOps: &so, ErrorComment: comment}, ds)
}

// fail sends a final failure before any sub-operation.
func (h *assocHandler) failRetrieve(m *inMsg, st Status, comment string) {
	h.log.Info(m.cmd.Field.String()+" refused", "status", st, "comment", comment)
	h.respond(m, &Command{Field: m.cmd.Field.Response(), Status: st, ErrorComment: comment}, nil)
}

func (h *assocHandler) retrieveRequest(m *inMsg, ident *dicom.Dataset) *RetrieveRequest {
	return &RetrieveRequest{Association: h.info, MessageID: m.cmd.MessageID, Priority: m.cmd.Priority,
		SOPClassUID: m.cmd.AffectedSOPClassUID, Identifier: ident, Destination: m.cmd.MoveDestination}
}

func (h *assocHandler) runMove(op *operation, m *inMsg, ident *dicom.Dataset) {
	dest := m.cmd.MoveDestination
	if dest == "" || h.s.AEResolver == nil {
		h.failRetrieve(m, StatusMoveDestinationUnknown, fmt.Sprintf("move destination %q unknown", dest))
		return
	}
	remote, err := h.s.AEResolver.ResolveAE(op.ctx, dest)
	if err != nil {
		h.failRetrieve(m, StatusMoveDestinationUnknown, fmt.Sprintf("move destination %q: %v", dest, err))
		return
	}
	if remote.AETitle == "" {
		remote.AETitle = dest
	}
	instances, err := h.s.Move.Move(op.ctx, h.retrieveRequest(m, ident))
	if err != nil {
		st, c := statusOf(err, StatusUnableToProcess)
		h.failRetrieve(m, st, c)
		return
	}
	run := &subOpRun{h: h, op: op, m: m, counts: SubOperations{Remaining: clampCount(len(instances))}}
	h.log.Info("C-MOVE", "destination", dest, "addr", remote.Addr, "instances", len(instances))
	comment := ""
	for _, chunk := range chunkByContexts(instances) {
		if op.ctx.Err() != nil {
			break
		}
		if err := h.moveChunk(run, remote, m.cmd.MessageID, chunk); err != nil {
			comment = err.Error()
		}
	}
	run.finish(comment)
}

// moveChunk sends instances over one association to the destination.
func (h *assocHandler) moveChunk(run *subOpRun, remote RemoteAE, msgID uint16, chunk []Instance) error {
	cfg := ClientConfig{
		CallingAE:       h.s.AETitle,
		CalledAE:        remote.AETitle,
		Contexts:        ContextsFor(chunk),
		TLSConfig:       remote.TLSConfig,
		UL:              h.s.UL,
		ResponseTimeout: h.s.IdleTimeout,
		Logger:          h.log,
	}
	c, err := Dial(h.ctx, remote.Addr, cfg)
	if err != nil {
		h.log.Warn("C-MOVE destination unreachable", "destination", remote.AETitle, "err", err)
		for _, inst := range chunk {
			if run.record(inst, StatusOutOfResourcesSubOps, err) != nil {
				return err
			}
		}
		return err
	}
	defer c.Close()
	orig := &moveOrigin{ae: h.info.CallingAE, msgID: msgID}
	var last error
	for _, inst := range chunk {
		if run.op.ctx.Err() != nil {
			return nil
		}
		st, err := h.sendOne(inst, func(s *source) (Status, error) {
			res, err := c.storeSource(h.ctx, s, orig)
			return res.Status, err
		})
		if err != nil {
			last = err
		}
		if run.record(inst, st, err) != nil {
			return err
		}
	}
	return last
}

// sendOne opens an instance and sends it with send. When no accepted
// context carries the stored syntax (send fails with ErrNoContext before
// writing anything) and the instance has a Convert hook, the instance is
// converted to Explicit VR Little Endian and sent again, for a peer that
// accepted an uncompressed syntax only.
func (h *assocHandler) sendOne(inst Instance, send func(*source) (Status, error)) (Status, error) {
	if inst.Open == nil {
		return StatusUnableToProcess, errors.New("instance cannot be opened")
	}
	st, stored, err := h.sendFrom(func(ctx context.Context) (InstanceReader, error) { return inst.Open(ctx) }, send)
	if err == nil || !errors.Is(err, ErrNoContext) || inst.Convert == nil || stored == "" || isNative(stored) {
		return st, err
	}
	st, _, cerr := h.sendFrom(func(ctx context.Context) (InstanceReader, error) {
		return inst.Convert(ctx, dicom.ExplicitVRLittleEndian)
	}, send)
	if cerr != nil && !errors.Is(cerr, ErrNoContext) {
		return st, fmt.Errorf("dimse: converting %s from %s: %w", inst.SOPInstanceUID, stored, cerr)
	}
	if cerr == nil {
		h.log.Debug("sub-operation sent converted", "sop_instance", inst.SOPInstanceUID, "from", stored)
	}
	return st, cerr
}

// sendFrom opens a reader with open, parses it and sends it with send; it
// also returns the syntax the opened data is in ("" if it was not read).
func (h *assocHandler) sendFrom(open func(context.Context) (InstanceReader, error), send func(*source) (Status, error)) (Status, string, error) {
	r, err := open(h.ctx)
	if err != nil {
		return StatusUnableToProcess, "", err
	}
	defer r.Close()
	s, err := openSeekable(r)
	if err != nil {
		return StatusUnableToProcess, "", err
	}
	st, err := send(s)
	return st, s.TransferSyntax, err
}

func syntaxOrDefault(ts string) string {
	if ts == "" {
		return dicom.ExplicitVRLittleEndian
	}
	return ts
}

func clampCount(n int) uint16 {
	if n > 0xFFFF {
		return 0xFFFF
	}
	return uint16(n)
}

// chunkByContexts splits instances, in order, into runs whose distinct
// (SOP class, transfer syntax) pairs fit in one association.
func chunkByContexts(instances []Instance) [][]Instance {
	var chunks [][]Instance
	var cur []Instance
	seen := map[[2]string]bool{}
	for _, inst := range instances {
		k := [2]string{inst.SOPClassUID, syntaxOrDefault(inst.TransferSyntax)}
		if !seen[k] && len(seen) == maxContextsPerAssociation {
			chunks = append(chunks, cur)
			cur, seen = nil, map[[2]string]bool{}
		}
		seen[k] = true
		cur = append(cur, inst)
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

func (h *assocHandler) runGet(op *operation, m *inMsg, ident *dicom.Dataset) {
	instances, err := h.s.Get.Get(op.ctx, h.retrieveRequest(m, ident))
	if err != nil {
		st, c := statusOf(err, StatusUnableToProcess)
		h.failRetrieve(m, st, c)
		return
	}
	run := &subOpRun{h: h, op: op, m: m, counts: SubOperations{Remaining: clampCount(len(instances))}}
	h.log.Info("C-GET", "instances", len(instances))
	comment := ""
	for _, inst := range instances {
		if op.ctx.Err() != nil {
			break
		}
		st, err := h.sendOne(inst, func(s *source) (Status, error) { return h.getSubOp(op, s) })
		if err != nil {
			comment = err.Error()
		}
		if run.record(inst, st, err) != nil {
			return
		}
		if h.a.Err() != nil {
			return
		}
	}
	run.finish(comment)
}

// getSubOp sends one C-STORE on the requestor's association and waits for
// its response, which the main loop routes here.
func (h *assocHandler) getSubOp(op *operation, s *source) (Status, error) {
	pc, err := chooseContext(h.a, s, true)
	if err != nil {
		return StatusUnableToProcess, err
	}
	h.subID++
	id := h.subID
	cmd := &Command{Field: CStoreRQ, MessageID: id, AffectedSOPClassUID: s.SOPClassUID, AffectedSOPInstanceUID: s.SOPInstanceUID, HasDataSet: true}
	raw, err := cmd.Encode()
	if err != nil {
		return StatusUnableToProcess, err
	}
	if err := h.a.WriteMessage(pc.ID, raw, func(w io.Writer) error { return s.writeData(w, pc.TransferSyntax) }); err != nil {
		return StatusUnableToProcess, err
	}
	timer := time.NewTimer(h.s.IdleTimeout)
	defer timer.Stop()
	for {
		select {
		case rsp := <-op.storeRsp:
			if rsp.MessageIDBeingRespondedTo != id {
				continue
			}
			if rsp.Status.IsFailure() {
				return rsp.Status, &StatusError{Status: rsp.Status, Comment: rsp.ErrorComment}
			}
			return rsp.Status, nil
		case <-h.ctx.Done():
			return StatusUnableToProcess, context.Cause(h.ctx)
		case <-timer.C:
			h.a.Abort()
			return StatusUnableToProcess, fmt.Errorf("%w: no C-STORE-RSP within %s", ul.ErrTimeout, h.s.IdleTimeout)
		}
	}
}
