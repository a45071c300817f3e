package dimsesvc

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// errStop ends an index iteration early.
var errStop = errors.New("dimsesvc: stop")

// Find answers C-FIND: the identifier becomes an index query whose matches
// stream from the index as pending responses. A C-CANCEL ends ctx, which
// ends the index iteration.
func (s *Service) Find(ctx context.Context, req *dimse.QueryRequest) iter.Seq2[*dicom.Dataset, error] {
	return func(yield func(*dicom.Dataset, error) bool) {
		ae := req.Association.CallingAE
		if !s.allowed(ctx, ae, svcQuery) {
			yield(nil, notAuthorized(ae, svcQuery))
			return
		}
		fq, se := parseFind(s.arch.Index().Schema(), req.SOPClassUID, req.Identifier,
			negotiated(req.Association, req.SOPClassUID, extRelational),
			negotiated(req.Association, req.SOPClassUID, extFuzzyNames),
			negotiated(req.Association, req.SOPClassUID, extCombinedDateTime))
		if se != nil {
			s.log.Info("C-FIND refused", "calling", ae, "status", se.Status, "comment", se.Comment)
			yield(nil, se)
			return
		}
		start := time.Now()
		n, stopped := 0, false
		var tooMany bool
		err := s.arch.Index().Each(ctx, fq.q, func(rec index.InstanceRecord) error {
			if s.opts.MaxMatches > 0 && n >= s.opts.MaxMatches {
				tooMany = true
				return errStop
			}
			ds, err := fq.response(&rec, s.opts.AETitle)
			if err != nil {
				return err
			}
			n++
			if !yield(ds, nil) {
				stopped = true
				return errStop
			}
			return nil
		})
		s.log.Debug("C-FIND", "calling", ae, "level", fq.level, "matches", n, "keys", describe(fq.q.Matches),
			"duration", time.Since(start))
		switch {
		case stopped, ctx.Err() != nil:
		case tooMany:
			yield(nil, dimse.NewStatusError(dimse.StatusOutOfResources, "more than %d matches: refine the query", s.opts.MaxMatches))
		case err != nil:
			s.log.Error("C-FIND failed", "calling", ae, "err", err)
			yield(nil, queryError(err))
		}
	}
}
