package dimsesvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/ul"
)

// Store receives one C-STORE: the data set streams into the archive
// behind a File Meta header, and the status is returned once the instance
// is durable (or refused).
func (s *Service) Store(ctx context.Context, req *dimse.StoreRequest, data io.Reader) dimse.Result {
	if !s.allowed(ctx, req.Association.CallingAE, svcStore) {
		return result(notAuthorized(req.Association.CallingAE, svcStore))
	}
	hdr, err := archive.FileMetaHeader(req.SOPClassUID, req.SOPInstanceUID, req.TransferSyntax, req.SourceAE)
	if err != nil {
		return dimse.Result{Status: dimse.StatusCannotUnderstand, ErrorComment: "command: " + err.Error()}
	}
	g := newGuard(data, req)
	res, err := s.arch.Store(ctx, io.MultiReader(bytes.NewReader(hdr), g), archive.IngestMeta{
		Size:      -1,
		CallingAE: req.SourceAE,
		Source:    "C-STORE from " + req.SourceAE,
	})
	if err != nil {
		var se *dimse.StatusError
		if errors.As(err, &se) { // the guard's verdict
			return result(se)
		}
		return s.storeFailure(ctx, req, err)
	}
	if res.SOPInstanceUID != req.SOPInstanceUID {
		// The guard could not see the UID early enough (a deflated data
		// set, a long element before it): undo what was stored.
		if res.Outcome == archive.OutcomeStored {
			if _, err := s.arch.Delete(context.WithoutCancel(ctx), archive.DeleteInstance, res.SOPInstanceUID, ""); err != nil {
				s.log.Error("cannot undo a mismatched C-STORE", "sop_instance", res.SOPInstanceUID, "err", err)
			}
		}
		return result(mismatch("SOP Instance UID", res.SOPInstanceUID, req.SOPInstanceUID))
	}
	return s.storeWarnings(req, res, g)
}

// storeFailure maps an archive error to a C-STORE failure status.
func (s *Service) storeFailure(ctx context.Context, req *dimse.StoreRequest, err error) dimse.Result {
	if re, ok := archive.IsReject(err); ok {
		st := dimse.StatusCannotUnderstand
		switch re.Reason {
		case archive.ReasonMissingAttribute, archive.ReasonNotStorable:
			st = dimse.StatusDataSetDoesNotMatchSOPClass
		case archive.ReasonDuplicate:
			st = dimse.StatusDuplicateSOPInstance
		}
		s.log.Info("C-STORE refused", "sop_instance", req.SOPInstanceUID, "calling", req.SourceAE, "reason", re.Reason, "detail", re.Detail)
		return dimse.Result{Status: st, ErrorComment: comment(strings.TrimPrefix(re.Detail, "dicom: "))}
	}
	switch {
	case ctx.Err() != nil, errors.Is(err, ul.ErrAborted), errors.Is(err, ul.ErrConnectionLost), errors.Is(err, ul.ErrTimeout),
		errors.Is(err, ul.ErrClosed), errors.Is(err, ul.ErrProtocol):
		// The data set did not arrive whole: nothing stored, and the
		// association is most likely gone.
		s.log.Info("C-STORE data set not received", "sop_instance", req.SOPInstanceUID, "calling", req.SourceAE, "err", err)
		return dimse.Result{Status: dimse.StatusProcessingFailure, ErrorComment: "data set not received"}
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		s.log.Error("C-STORE failed: storage full", "sop_instance", req.SOPInstanceUID, "err", err)
		return dimse.Result{Status: dimse.StatusOutOfResources, ErrorComment: "out of storage space (disk full)"}
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE), errors.Is(err, syscall.ENOMEM):
		s.log.Error("C-STORE failed: out of resources", "sop_instance", req.SOPInstanceUID, "err", err)
		return dimse.Result{Status: dimse.StatusOutOfResources, ErrorComment: comment("out of resources: " + err.Error())}
	case errors.Is(err, archive.ErrClosed):
		return dimse.Result{Status: dimse.StatusOutOfResources, ErrorComment: "archive shutting down"}
	}
	s.log.Error("C-STORE failed", "sop_instance", req.SOPInstanceUID, "err", err)
	return dimse.Result{Status: dimse.StatusProcessingFailure, ErrorComment: comment(err.Error())}
}

// storeWarnings returns success, or a warning for what the archive did
// differently from what was sent.
func (s *Service) storeWarnings(req *dimse.StoreRequest, res archive.Result, g *guard) dimse.Result {
	switch {
	case g.classMissing:
		return dimse.Result{Status: dimse.StatusDataSetDoesNotMatchSOPClassWarning,
			ErrorComment: comment("data set has no SOP Class UID; stored as " + req.SOPClassUID)}
	case res.Outcome == archive.OutcomeKeptFirst:
		return dimse.Result{Status: dimse.StatusCoercionOfDataElements,
			ErrorComment: "instance already stored with other content; kept the first"}
	case len(res.Conflicts) > 0:
		c := res.Conflicts[0]
		s.log.Info("C-STORE stored with coercion", "sop_instance", req.SOPInstanceUID, "attribute", c.Attribute,
			"incoming", c.Incoming, "kept", c.Existing)
		return dimse.Result{Status: dimse.StatusCoercionOfDataElements,
			ErrorComment: comment(fmt.Sprintf("%s %q filed under stored %q", c.Attribute, c.Incoming, c.Existing))}
	}
	return dimse.Result{}
}

// result turns a status error into a handler result.
func result(se *dimse.StatusError) dimse.Result {
	return dimse.Result{Status: se.Status, ErrorComment: comment(se.Comment)}
}

// mismatch is the A900 of a data set whose UID differs from the command's.
func mismatch(what, got, want string) *dimse.StatusError {
	return dimse.NewStatusError(dimse.StatusDataSetDoesNotMatchSOPClass, "%s %s in the data set, %s in the command", what, got, want)
}

// comment fits an Error Comment into LO (64 characters, no backslash or
// control characters).
func comment(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == '\\' || r > 0x7e {
			return ' '
		}
		return r
	}, s)
	if len(s) > 64 {
		s = s[:61] + "..."
	}
	return s
}
